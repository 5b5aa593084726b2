"""Settings: schema, TOML parsing, errors named with file and line, defaults file."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from desktop import config
from desktop.errors import ConfigError


def test_defaults_cover_every_setting() -> None:
    s = config.Settings()
    assert set(s.values) == {x.key for x in config.SCHEMA}
    assert s["probes.timeout"] == 5.0
    assert s.section("thresholds")["disk_free_percent_warning"] == 10.0


def test_every_setting_has_title_description_and_a_valid_default() -> None:
    for s in config.SCHEMA:
        assert s.title and s.description, s.key
        assert s.check(s.default) is None, s.key


def test_rendered_defaults_parse_back_to_the_defaults() -> None:
    text = config.render_defaults()
    parsed = config.parse(text, "defaults.toml")
    assert parsed.values == config.Settings().values


def test_shipped_default_config_matches_schema() -> None:
    shipped = Path(__file__).resolve().parents[1] / "resources" / "deskline.toml"
    assert shipped.read_text(encoding="utf-8") == config.render_defaults(), \
        "resources/deskline.toml is stale: run `deskline config defaults > resources/deskline.toml`"


def test_values_are_read_from_tables_and_dotted_keys() -> None:
    text = """
version = 1
[thresholds]
disk_free_percent_warning = 20
[probes]
processes.top = 3
[probes.logs]
window_hours = 2.5
[probes.timeouts]
logs = 10
"""
    s = config.parse(text, "x.toml")
    assert s["thresholds.disk_free_percent_warning"] == 20.0
    assert isinstance(s["thresholds.disk_free_percent_warning"], float)
    assert s["probes.processes.top"] == 3
    assert s["probes.logs.window_hours"] == 2.5
    assert s["probes.timeouts"] == {"logs": 10}
    assert s.sources["probes.logs.window_hours"] == "x.toml:8"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[thresholds]\ndisk_free_percent_warnin = 5\n",
         "x.toml:2: unknown setting 'thresholds.disk_free_percent_warnin'"
         " (did you mean 'thresholds.disk_free_percent_warning'?)"),
        ("[ui]\n\nlanguage = 'fr'\n", "x.toml:3: ui.language: 'fr' is not one of: system, en, ru"),
        ("[probes]\ntimeout = 'fast'\n", "x.toml:2: probes.timeout: expected a number, got the string 'fast'"),
        ("[probes]\ntimeout = 0\n", "x.toml:2: probes.timeout: 0 is below the minimum 0.1"),
        ("[probes.processes]\ntop = 2.5\n",
         "x.toml:2: probes.processes.top: expected a whole number, got the number 2.5"),
        ("[report]\npseudonymize = 1\n", "x.toml:2: report.pseudonymize: expected true or false, got the number 1"),
        ("[nonsense]\nx = 1\n", "x.toml:1: unknown section [nonsense]"),
        ("[probes]\ndisabled = ['cpu', 'gpu']\n", "x.toml:2: probes.disabled: unknown probe 'gpu'"),
        ("version = 99\n", "x.toml:1: version = 99 was written by a newer Deskline"),
        ("[thresholds]\ndisk_free_percent_warning = 5\ndisk_free_percent_critical = 8\n",
         "x.toml:3: thresholds.disk_free_percent_critical (8) must not exceed"),
    ],
)
def test_bad_settings_are_named_with_their_line(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        config.parse(text, "x.toml")
    assert str(info.value).startswith(message)


def test_toml_syntax_error_names_file_and_line() -> None:
    with pytest.raises(ConfigError, match=r"x\.toml: not valid TOML: .*line 2"):
        config.parse("[ui]\nlanguage = \n", "x.toml")


def test_load_explicit_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="settings file not found"):
        config.load(tmp_path / "nope.toml")


def test_load_from_environment_variable(tmp_path: Path) -> None:
    f = tmp_path / "d.toml"
    f.write_text("[ui]\nlanguage = 'ru'\n", encoding="utf-8")
    s = config.load(None, environ={"DESKLINE_CONFIG": str(f)})
    assert s["ui.language"] == "ru"
    assert s.path == f


def test_missing_user_file_gives_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "default_path", lambda: tmp_path / "absent.toml")
    s = config.load(None, environ={})
    assert s.values == config.Settings().values


def test_undecodable_file_is_reported(tmp_path: Path) -> None:
    f = tmp_path / "bad.toml"
    f.write_bytes(b"\xff\xfe\x00 not utf-8")
    with pytest.raises(ConfigError, match="cannot read settings file"):
        config.load(f)


def test_locate_finds_keys_in_tables_and_inline() -> None:
    text = "version = 1\n[probes]\ntimeout = 3\n\n[probes.logs]\n# c\nmax_entries = 4\n"
    assert config.locate(text, "version") == 1
    assert config.locate(text, "probes.timeout") == 3
    assert config.locate(text, "probes.logs.max_entries") == 7
    assert config.locate(text, "probes.logs") == 5
    assert tomllib.loads(text)["probes"]["logs"]["max_entries"] == 4
