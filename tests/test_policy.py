"""The machine-wide policy file: presets, locks, their reasons, and the settings screen's writer."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from agent.authkeys import fingerprint
from desktop import config
from desktop.errors import ConfigError

POLICY = """\
reason = "Set by Example Corp IT. Questions: it@example.com"

[defaults]
ui.language = "ru"
tickets.refresh_minutes = 10

[locked]
helpdesk.backend = "redmine"
helpdesk.url = "https://helpdesk.example.com"
report.review_skip = ["findings"]
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    f = tmp_path / name
    f.write_text(text, encoding="utf-8")
    return f


def test_presets_apply_where_the_user_is_silent_and_locks_win(tmp_path: Path) -> None:
    policy = write(tmp_path, "policy.toml", POLICY)
    user = write(tmp_path, "user.toml", '[helpdesk]\nbackend = "local"\n[ui]\nlanguage = "en"\n')
    s = config.load(user, environ={"DESKLINE_POLICY": str(policy)})
    assert s["ui.language"] == "en"  # the user's own choice beats a preset
    assert s["tickets.refresh_minutes"] == 10.0  # a preset where the user said nothing
    assert s["helpdesk.backend"] == "redmine"  # locked beats the user's file
    assert s.locked == {key: "Set by Example Corp IT. Questions: it@example.com"
                        for key in ("helpdesk.backend", "helpdesk.url", "report.review_skip")}
    assert s.overridden == {"helpdesk.backend": f"{user}:2"}
    assert s.sources["helpdesk.backend"] == f"{policy} [locked]"
    assert s.policy_path == policy


def test_no_policy_file_means_no_locks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "default_policy_path", lambda environ=None: tmp_path / "absent.toml")
    s = config.load(write(tmp_path, "u.toml", "version = 1\n"), environ={})
    assert s.locked == {}
    assert s["helpdesk.backend"] == "local"


@pytest.mark.parametrize(("text", "message"), [
    ("[locked]\nhelpdesk.backnd = 'x'\n", r"policy.toml:2: \[locked\]: unknown setting 'helpdesk.backnd' "
                                          r"\(did you mean 'helpdesk.backend'\?\)"),
    ("[locked]\nversion = 2\n", "unknown setting 'version'"),
    ("[defaults]\nui.language = 'de'\n", "ui.language: .*de"),
    ("[mandatory]\nui.language = 'ru'\n", r"unknown policy entry 'mandatory'"),
    ("reason = ''\n", "reason: expected a non-empty string"),
    ("[defaults]\nui.language = 'ru'\n[locked]\nui.language = 'en'\n", "both in"),
    ("[locked\n", "not valid TOML"),
])
def test_bad_policy_is_reported_with_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    policy = write(tmp_path, "policy.toml", text)
    with pytest.raises(ConfigError, match=message):
        config.load_policy(policy)


def test_a_named_policy_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="policy file not found"):
        config.load(None, environ={"DESKLINE_POLICY": str(tmp_path / "nope.toml"),
                                   "DESKLINE_CONFIG": str(write(tmp_path, "u.toml", ""))})


def test_review_skip_and_never_send_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="report.review_skip: unknown kind 'everything'"):
        config.parse('[report]\nreview_skip = ["everything"]\n', "u.toml")
    with pytest.raises(ConfigError, match="report.never_send: unknown probe 'passwords'"):
        config.parse('[report]\nnever_send = ["passwords"]\n', "u.toml")
    assert config.parse('[report]\nnever_send = ["processes"]\n')["report.never_send"] == ["processes"]


def test_save_user_keeps_comments_and_refuses_locked_or_bad_values(tmp_path: Path) -> None:
    user = write(tmp_path, "user.toml", "# my notes\nversion = 1\n\n[ui]\n# keep me\nlanguage = \"en\"\n")
    policy = config.parse_policy(POLICY, tmp_path / "policy.toml")
    s = config.load(user, policy=policy)
    config.save_user(user, {"ui.language": "ru", "probes.processes.top": 5, "report.never_send": ["logs"]}, s)
    text = user.read_text()
    assert "# my notes" in text and "# keep me" in text
    again = config.load(user, policy=policy)
    assert (again["ui.language"], again["probes.processes.top"], again["report.never_send"]) == ("ru", 5, ["logs"])
    with pytest.raises(ConfigError, match="helpdesk.backend is locked: Set by Example Corp IT"):
        config.save_user(user, {"helpdesk.backend": "local"}, s)
    with pytest.raises(ConfigError, match="unknown probe"):
        config.save_user(user, {"report.never_send": ["nothing-like-this"]}, s)
    assert user.read_text() == text  # refused changes write nothing


def test_save_user_creates_the_file(tmp_path: Path) -> None:
    user = tmp_path / "sub" / "deskline.toml"
    config.save_user(user, {"helpdesk.proxy": "http://proxy.example:3128"})
    assert config.load(user, policy=config.Policy())["helpdesk.proxy"] == "http://proxy.example:3128"


# -- agent.unattended: engineer key fingerprints IT lets run without asking ------------------------------

SSH_KEYGEN = shutil.which("ssh-keygen")
needs_ssh_keygen = pytest.mark.skipif(SSH_KEYGEN is None, reason="ssh-keygen is missing (apt-get install "
                                      "openssh-client)")


def keygen(tmp_path: Path, *args: str) -> str:
    assert SSH_KEYGEN is not None
    return subprocess.run([SSH_KEYGEN, *args], check=True, capture_output=True, text=True, cwd=tmp_path).stdout


@pytest.fixture
def engineer_key(tmp_path: Path) -> tuple[str, str, str, str]:
    """A real ed25519 key made by ssh-keygen: its public line, then what ``ssh-keygen -lf`` prints (the
    line and the fingerprint alone) and what ``ssh-keygen -E md5 -lf`` prints."""
    keygen(tmp_path, "-q", "-t", "ed25519", "-N", "", "-C", "monitoring (unattended)", "-f", "mon")
    listed = keygen(tmp_path, "-lf", "mon.pub").strip()  # 256 SHA256:... monitoring (unattended) (ED25519)
    md5 = keygen(tmp_path, "-E", "md5", "-lf", "mon.pub").split()[1]
    return (tmp_path / "mon.pub").read_text().strip(), listed, listed.split()[1], md5


@needs_ssh_keygen
def test_unattended_takes_the_fingerprint_ssh_keygen_prints(engineer_key: tuple[str, str, str, str]) -> None:
    _line, _listed, fingerprint, _md5 = engineer_key
    settings = config.parse(f'[agent]\nunattended = ["{fingerprint}"]\n', "u.toml")
    assert settings["agent.unattended"] == [fingerprint]
    policy = config.parse_policy(f'[locked]\nagent.unattended = ["{fingerprint}"]\n', "p.toml")
    assert policy.locked["agent.unattended"] == [fingerprint]


@needs_ssh_keygen
def test_unattended_refuses_what_is_not_a_fingerprint_with_file_line_and_hint(
        tmp_path: Path, engineer_key: tuple[str, str, str, str]) -> None:
    line, listed, fingerprint, md5 = engineer_key
    bad = {  # what IT might paste -> what the message must say
        line: f"a public key line? its fingerprint is '{fingerprint}'",
        f"restrict,from=\"10.0.0.0/8\" {line}": f"a public key line? its fingerprint is '{fingerprint}'",
        line.split()[1]: f"a public key's base64? its fingerprint is '{fingerprint}'",
        listed: f"an ssh-keygen -lf line? its fingerprint is '{fingerprint}'",
        md5: "is an MD5 fingerprint: the agent compares SHA256 ones; ssh-keygen -E sha256 -lf KEYFILE.pub",
        md5.removeprefix("MD5:"): "is an MD5 fingerprint",
        "monitoring (unattended)": "is not a key fingerprint (a key's comment or a user name is not enough)",
        "root": "is not a key fingerprint",
        "": "is not a key fingerprint",
        fingerprint[:-1]: "after SHA256: come 43 characters of base64, not 42 (cut short or mistyped?",
        fingerprint + "=": f"is padded with '=' (did you mean '{fingerprint}'?)",
        fingerprint.replace("SHA256:", "sha256:"): f"SHA256: in capitals (did you mean '{fingerprint}'?)",
        fingerprint.removeprefix("SHA256:"): f"lacks the SHA256: prefix (did you mean '{fingerprint}'?)",
        f" {fingerprint}": f"has blanks around the fingerprint (did you mean '{fingerprint}'?)",
    }
    for value, hint in bad.items():
        quoted = value.replace("\\", "\\\\").replace('"', '\\"')
        user = write(tmp_path, "user.toml",
                     f'version = 1\n[agent]\nunattended = [\n  "{fingerprint}",\n  "{quoted}",\n]\n')
        with pytest.raises(ConfigError) as info:
            config.load(user, policy=config.Policy())
        assert str(info.value).startswith(f"{user}:5: agent.unattended: "), info.value
        assert hint in str(info.value), info.value
        policy = write(tmp_path, "policy.toml", f'reason = "IT"\n[locked]\nagent.unattended = ["{quoted}"]\n')
        with pytest.raises(ConfigError) as info:
            config.load_policy(policy)
        assert str(info.value).startswith(f"{policy}:3: agent.unattended: ") and hint in str(info.value), info.value


def test_unattended_refuses_a_key_the_agent_would_not_take_and_saying_why() -> None:
    dsa = "ssh-dss AAAAB3NzaC1kc3MAAACBAP8= old@box"
    assert config.fingerprint_problem(dsa) == (
        f"'{dsa}' is not a key fingerprint: a public key line? the agent cannot take that key: ssh-dss: DSA keys "
        "are too weak")


def test_every_sha256_digest_is_a_fingerprint_and_a_mistyped_last_character_is_not() -> None:
    """The check's last character rule (the digest's 256 bits leave 2 zero bits in the 43rd character)
    accepts every fingerprint the agent computes, and refuses 3 in 4 typos of that character."""
    refused = 0
    for n in range(2000):
        fp = fingerprint(hashlib.sha256(str(n).encode()).digest())
        assert config.fingerprint_problem(fp) is None, fp
        refused += config.fingerprint_problem(fp[:-1] + ("B" if fp[-1] != "B" else "C")) is not None
    assert refused == 2000


def test_save_user_refuses_a_bad_unattended_value(tmp_path: Path) -> None:
    user = write(tmp_path, "user.toml", "version = 1\n")
    with pytest.raises(ConfigError, match="agent.unattended: 'alice' is not a key fingerprint"):
        config.save_user(user, {"agent.unattended": ["alice"]})
    assert user.read_text() == "version = 1\n"
