"""The environment probe: only the chosen variables, in order, capped; the setting from the real schema."""

from __future__ import annotations

import json
import os
import time

import pytest

from desktop.config import SCHEMA_BY_KEY, parse
from desktop.diagnostics.base import ProbeContext, ProbeError, describe, to_jsonable
from desktop.diagnostics.probes import environment


def test_present_missing_and_order() -> None:
    env = {"LANG": "ru_RU.UTF-8", "PATH": "/usr/bin:/bin", "SECRET_TOKEN": "abc", "EMPTY": ""}
    r = environment.select(env, ["PATH", "TZ", "LANG", "EMPTY", "PATH"])
    assert list(r.variables.items()) == [("PATH", "/usr/bin:/bin"), ("LANG", "ru_RU.UTF-8"), ("EMPTY", "")]
    assert r.missing == ("TZ",)
    assert r.truncated == ()
    assert "SECRET_TOKEN" not in json.dumps(to_jsonable(r))  # never collected unless asked for


def test_long_values_are_cut_and_named() -> None:
    long_path = ":".join(f"/opt/tool{i}/bin" for i in range(1000))
    r = environment.select({"PATH": long_path, "LANG": "C"}, ["PATH", "LANG"])
    assert len(r.variables["PATH"]) == environment.MAX_VALUE_CHARS
    assert r.variables["PATH"].endswith("…")
    assert long_path.startswith(r.variables["PATH"][:-1])
    assert r.truncated == ("PATH",)


def test_number_of_names_is_capped() -> None:
    names = [f"V{i}" for i in range(environment.MAX_VARIABLES + 50)]
    r = environment.select({n: "x" for n in names}, names)
    assert len(r.variables) == environment.MAX_VARIABLES
    assert r.missing == ()


def test_collect_uses_the_setting() -> None:
    ctx = ProbeContext(
        settings={"environment.variables": ["HTTPS_PROXY", "NO_PROXY"]},
        environ={"HTTPS_PROXY": "http://proxy.corp.example:3128", "HOME": "/home/alice"},
    )
    r = environment.collect(ctx)
    assert r.variables == {"HTTPS_PROXY": "http://proxy.corp.example:3128"}
    assert r.missing == ("NO_PROXY",)


def test_settings_file_value_reaches_the_probe() -> None:
    settings = parse('[probes.environment]\nvariables = ["LANG", "XDG_SESSION_TYPE"]\n')
    ctx = ProbeContext(settings=settings.section("probes"), environ={"LANG": "de_DE.UTF-8"})
    r = environment.collect(ctx)
    assert (r.variables, r.missing) == ({"LANG": "de_DE.UTF-8"}, ("XDG_SESSION_TYPE",))


def test_default_setting_on_the_real_environment() -> None:
    names = SCHEMA_BY_KEY["probes.environment.variables"].default
    r = environment.collect(ProbeContext(settings={"environment.variables": names}))
    for name in names:
        if name in os.environ and len(os.environ[name]) <= environment.MAX_VALUE_CHARS:
            assert r.variables[name] == os.environ[name]
    assert set(r.variables) == {n for n in names if n in os.environ}
    assert set(r.missing) == {n for n in names if n not in os.environ}
    assert len(json.dumps(to_jsonable(r))) < 16384


def test_without_a_setting_the_built_in_list_is_used() -> None:
    r = environment.collect(ProbeContext(environ={"SHELL": "/bin/zsh"}))
    assert r.variables == {"SHELL": "/bin/zsh"}
    assert set(r.missing) == set(environment.DEFAULT_VARIABLES) - {"SHELL"}


@pytest.mark.parametrize("bad", ["PATH", ["PATH", 3]])
def test_a_malformed_setting_is_a_clear_failure(bad: object) -> None:
    with pytest.raises(ProbeError, match="probes.environment.variables"):
        environment.collect(ProbeContext(settings={"environment.variables": bad}))


def test_doc_says_values_are_redacted_later() -> None:
    docs = {row.name: row.doc for row in describe(environment.EnvironmentResult)}
    assert "redact" in docs["variables"]
    assert all(docs.values())


def test_fast_enough() -> None:
    start = time.perf_counter()
    environment.collect(ProbeContext())
    assert time.perf_counter() - start < 0.01
