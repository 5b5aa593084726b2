"""The machine-wide policy file: presets, locks, their reasons, and the settings screen's writer."""

from __future__ import annotations

from pathlib import Path

import pytest

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
