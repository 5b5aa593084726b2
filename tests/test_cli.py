"""The `deskline` command as a whole process: outputs, errors and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((ROOT / "resources" / "report.schema.json").read_text(encoding="utf-8"))


def deskline(*args: str, stdin: str | None = None, env: dict[str, str] | None = None,
             cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != "DESKLINE_CONFIG"}
    environ["PYTHONPATH"] = str(ROOT)
    environ.update(env or {})
    return subprocess.run([sys.executable, "-m", "desktop", *args], capture_output=True, text=True,
                          input=stdin, env=environ, cwd=cwd or ROOT, timeout=120, check=False)


def test_collect_json_is_a_valid_report_with_every_probe() -> None:
    r = deskline("collect", "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)
    assert len(doc["probes"]) == 15
    assert r.stderr == ""  # no progress when stderr is not a terminal


@pytest.mark.parametrize(("fmt", "marker"), [("markdown", "# Deskline report"), ("html", "<!DOCTYPE html>")])
def test_collect_text_formats_to_file(tmp_path: Path, fmt: str, marker: str) -> None:
    out = tmp_path / f"r.{fmt}"
    r = deskline("collect", "-p", "cpu,memory", "--format", fmt, "--output", str(out))
    assert r.returncode == 0, r.stderr
    text = out.read_text(encoding="utf-8")
    assert text.startswith(marker)
    assert "Processor" in text and "Memory" in text and "Disks" not in text


def test_collect_bundle_with_attachment(tmp_path: Path) -> None:
    att = tmp_path / "app.log"
    att.write_text("token=ghp_0123456789abcdefghijABCDEFGHIJ012345 at start\n", encoding="utf-8")
    out = tmp_path / "r.zip"
    r = deskline("collect", "-p", "system", "-f", "bundle", "-o", str(out), "-a", str(att))
    assert r.returncode == 0, r.stderr
    with zipfile.ZipFile(out) as zf:
        assert b"ghp_0123456789" not in zf.read("attachments/app.log")
        assert json.loads(zf.read("report.json"))["attachments"][0]["name"] == "app.log"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["collect", "--probe", "gpu"], "deskline: unknown probe 'gpu' (known probes: system, cpu"),
        (["collect", "-o", "/nonexistent/dir/r.json"], "deskline: /nonexistent/dir/r.json: folder /nonexistent/dir"
                                                        " does not exist"),
        (["collect", "-a", "/nonexistent/file.log"], "deskline: /nonexistent/file.log: no such file to attach"),
        (["collect", "--format", "pdf"], "deskline: argument --format/-f: invalid choice: 'pdf'"),
        (["redact", "/nonexistent/in.txt"], "deskline: /nonexistent/in.txt: cannot read: No such file or directory"),
        (["--config", "/nonexistent/d.toml", "check"], "deskline: /nonexistent/d.toml: settings file not found"),
        (["frobnicate"], "deskline: argument COMMAND: invalid choice: 'frobnicate'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    r = deskline(*args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert r.stderr.startswith(message), r.stderr
    assert r.stderr.count("\n") == 1, r.stderr
    assert r.stdout == ""


def test_unwritable_output_is_refused_before_collecting(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    r = deskline("collect", "-o", str(folder))
    assert r.returncode == 2 and "is a folder" in r.stderr


def test_broken_config_names_file_and_line(tmp_path: Path) -> None:
    cfg = tmp_path / "d.toml"
    cfg.write_text("[thresholds]\ndisk_free_percent_warning = 'ten'\n", encoding="utf-8")
    r = deskline("check", env={"DESKLINE_CONFIG": str(cfg)})
    assert r.returncode == 2
    assert r.stderr == (f"deskline: {cfg}:2: thresholds.disk_free_percent_warning: expected a number, "
                        "got the string 'ten'\n")


def test_check_exit_code_follows_findings(tmp_path: Path) -> None:
    strict = tmp_path / "strict.toml"
    # every filesystem has less than 100% free: the disk rule must fire
    strict.write_text("[thresholds]\ndisk_free_percent_warning = 100\ndisk_free_percent_critical = 0\n",
                      encoding="utf-8")
    r = deskline("--config", str(strict), "check", "--probe", "disks")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "WARNING" in r.stdout and "Next step:" in r.stdout
    relaxed = tmp_path / "relaxed.toml"
    relaxed.write_text("[thresholds]\ndisk_free_percent_warning = 0\ndisk_free_percent_critical = 0\n"
                       "disk_free_min_mb = 0\n", encoding="utf-8")
    r = deskline("--config", str(relaxed), "check", "--probe", "cpu", "--format", "json")
    assert r.returncode in (0, 1)
    findings = json.loads(r.stdout)["findings"]
    assert r.returncode == (1 if any(f["severity"] != "info" for f in findings) else 0)


def test_probes_lists_fields_with_units() -> None:
    r = deskline("probes", "cpu")
    assert r.returncode == 0
    assert r.stdout.startswith("cpu: Processor\n")
    assert "usage_percent" in r.stdout and "[%]" in r.stdout
    r = deskline("probes", "--format", "json")
    names = [p["name"] for p in json.loads(r.stdout)]
    assert len(names) == 15 and names[0] == "system"


def test_redact_explain_never_prints_the_secret() -> None:
    text = "user=admin\npassword = hunter2hunter2\nnothing here 1.2.3\n"
    r = deskline("redact", "--explain", stdin=text)
    assert r.returncode == 0
    assert "hunter2hunter2" not in r.stdout + r.stderr
    assert r.stdout.endswith("nothing here 1.2.3\n") and "password = " in r.stdout
    assert "line 2: masked password" in r.stderr


def test_config_defaults_and_check(tmp_path: Path) -> None:
    r = deskline("config", "defaults")
    cfg = tmp_path / "d.toml"
    cfg.write_text(r.stdout, encoding="utf-8")
    r = deskline("--config", str(cfg), "config", "check")
    assert r.returncode == 0 and r.stdout == f"{cfg}: settings are valid\n"


def test_no_display_falls_back_to_check_and_saves_a_report(tmp_path: Path) -> None:
    env = {"DISPLAY": "", "WAYLAND_DISPLAY": "", "QT_QPA_PLATFORM": "", "XDG_DATA_HOME": str(tmp_path),
           "HOME": str(tmp_path)}
    r = deskline(env=env)
    assert r.returncode in (0, 1), r.stderr
    assert "no display is available" in r.stderr
    saved = list((tmp_path / "deskline" / "reports").glob("deskline-report-*.zip"))
    assert len(saved) == 1 and f"Report saved: {saved[0]}" in r.stdout
