"""``deskline-agent diff``: two real reports collected around a staged change, and the rules of comparing."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from agent.cli import main
from agent.diff import Change, compare, load, to_text, version_order
from agent.protocol import Exit, answer, refusal
from desktop.diagnostics.bundle import bundle_bytes
from desktop.diagnostics.report import Report

ROOT = Path(__file__).resolve().parents[2]
DPKG_STATUS = Path("/var/lib/dpkg/status")
STANZA = "Package: {name}\nStatus: install ok installed\nArchitecture: all\nVersion: {version}\n"

# Collect a report, stage the change, collect again: in a private mount namespace, so the machine's
# disks and package database are never touched. $1 a folder for a small tmpfs, $2 the package database
# the namespace sees, $3 what it holds afterwards, $4 python, $5 and $6 the two answers.
STAGE = """set -e
mount -t tmpfs -o size=4m deskline-test "$1"
mount --bind "$2" /var/lib/dpkg/status
"$4" -m agent.cli probe disks software services > "$5"
head -c 4000000 /dev/zero > "$1/filler" || true
cat "$3" > "$2"
"$4" -m agent.cli probe disks software services > "$6"
"""


def kinds(changes: list[Change]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for c in changes:
        out.setdefault(c.kind, []).append(c.path)
    return out


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """Two real reports: before and after filling a disk and changing packages. Needs root."""
    if os.geteuid() != 0:
        pytest.skip("needs root: the change is staged in a private mount namespace")
    if not DPKG_STATUS.is_file() or shutil.which("unshare") is None:
        pytest.skip("needs a Debian package database and unshare (util-linux)")
    folder = tmp_path_factory.mktemp("staged")
    fill = folder / "fill"
    fill.mkdir()
    real = DPKG_STATUS.read_text(encoding="utf-8", errors="replace").rstrip("\n")
    before = [real, STANZA.format(name="deskline-staged-upgraded", version="1.0-1"),
              STANZA.format(name="deskline-staged-gone", version="3.0")]
    after = [real, STANZA.format(name="deskline-staged-upgraded", version="1.2-1"),
             STANZA.format(name="deskline-staged-new", version="2.0")]
    seen, later = folder / "status", folder / "status.after"
    seen.write_text("\n\n".join(before))
    later.write_text("\n\n".join(after))
    a, b = folder / "a.json", folder / "b.json"
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "PYTHONPATH": str(ROOT), "HOME": str(folder)}
    done = subprocess.run(["unshare", "-m", "sh", "-c", STAGE, "stage", str(fill), str(seen), str(later),
                           sys.executable, str(a), str(b)], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    for path in (a, b):  # `deskline-agent probe` prints the agent's answer: the tests below want the reports
        document = json.loads(path.read_text())
        assert document["ok"] is True and document["command"] == "probe", document
        path.write_text(json.dumps(document["result"]))
    return a, b, fill


def test_staged_change_is_found(staged: tuple[Path, Path, Path]) -> None:
    a, b, fill = staged
    changes = compare(load(a), load(b))
    found = kinds(changes)
    mount = str(fill)
    assert found.pop("disk_filling") == [f"disks.filesystems[{mount}].used_percent"]
    appeared = [c for c in changes if c.kind == "finding_appeared"]
    assert [(c.after["id"], c.after["subject"]) for c in appeared] == [("disk.almost_full", mount)]
    found.pop("finding_appeared")
    assert found.pop("package_upgraded") == ["software.packages[deskline-staged-upgraded:all]"]
    assert found.pop("package_added") == ["software.packages[deskline-staged-new:all]"]
    assert found.pop("package_removed") == ["software.packages[deskline-staged-gone:all]"]
    assert found == {}, f"noise in the diff: {found}"

    text = to_text(load(a), load(b), changes)
    assert f"{mount} filling: " in text and " % used (free " in text
    assert "upgraded: deskline-staged-upgraded:all 1.0-1 → 1.2-1" in text
    assert "appeared: [" in text

    back = kinds(compare(load(b), load(a)))
    assert set(back) == {"disk_freed", "finding_resolved", "package_downgraded", "package_added", "package_removed"}


def test_cli_text_json_and_exit_codes(staged: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    a, b, _ = staged
    assert main(["diff", str(a), str(b)]) == 1
    out = capsys.readouterr().out
    for section in ("Findings (1)", "Disks (1)", "Packages (3)"):
        assert section in out
    assert main(["diff", str(a), str(b), "--format", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["counts"]["package_added"] == 1 and doc["from"]["source"] == str(a)
    assert {c["kind"] for c in doc["changes"]} >= {"disk_filling", "finding_appeared"}
    assert main(["diff", str(a), str(a)]) == 0
    assert "No changes" in capsys.readouterr().out
    # A huge tolerance hides the disk change, never the finding or the packages.
    assert main(["diff", str(a), str(b), "--tolerance", "99"]) == 1
    out = capsys.readouterr().out
    assert "Disks" not in out and "Findings (1)" in out


def test_bundles_and_answers_are_read_too(staged: tuple[Path, Path, Path], tmp_path: Path) -> None:
    a, b, _ = staged
    doc_a = json.loads(a.read_text())
    bundle = tmp_path / "ticket-4711.zip"
    bundle.write_bytes(bundle_bytes(Report(doc_a, [])))
    wrapped = tmp_path / "answer.json"
    wrapped.write_text(json.dumps(answer("report", json.loads(b.read_text()))))
    line = tmp_path / "run.jsonl"
    line.write_text(json.dumps({"host": "lab", "status": "ok", "answer": answer("report", json.loads(b.read_text()))})
                    + "\n")
    direct = compare(load(a), load(b))
    assert compare(load(bundle), load(wrapped)) == direct
    assert compare(load(bundle), load(line)) == direct


def test_bad_inputs_are_refused_with_the_file_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = {
        "missing.json": None,
        "garbage.json": "{nope",
        "fleet.jsonl": '{"host": "a"}\n{"host": "b"}\n',
        "refusal.json": json.dumps(refusal("probe", Exit.CONSENT_REQUIRED, "the user said no")),
        "ping.json": json.dumps(answer("ping", {"agent": "deskline-agent"})),
        "other.json": json.dumps({"hello": "world"}),
        "old.json": json.dumps({"format": "deskline-report", "schema_version": 99, "report_id": "x",
                                "probes": {}, "findings": []}),
        "broken.zip": None,
    }
    messages = {
        "missing.json": "cannot read", "garbage.json": "not JSON", "fleet.jsonl": "2 JSON lines",
        "refusal.json": "consent_required: the user said no", "ping.json": "no report to compare",
        "other.json": "not a Deskline report", "old.json": "schema version 99", "broken.zip": "not a Deskline bundle",
    }
    for name, content in cases.items():
        if content is not None:
            (tmp_path / name).write_text(content)
    with zipfile.ZipFile(tmp_path / "broken.zip", "w") as zf:
        zf.writestr("manifest.json", "{}")
    good = tmp_path / "good.json"
    good.write_text(json.dumps(_document()))
    for name, message in messages.items():
        assert main(["diff", str(tmp_path / name), str(good)]) == 2, name
        err = capsys.readouterr().err
        assert name in err and message in err, err
    original = tmp_path / "original.zip"
    original.write_bytes(bundle_bytes(Report(_document(), [])))
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(original) as src, zipfile.ZipFile(tampered, "w") as dst:
        for item in src.namelist():  # the same manifest, an edited report
            data = src.read(item)
            dst.writestr(item, data.replace(b'"laptop"', b'"desktop"') if item == "report.json" else data)
    assert main(["diff", str(tampered), str(good)]) == 2
    assert "report.json does not match its hash" in capsys.readouterr().err


# -- the rules of comparing, on edited documents ------------------------------------------------------------


def _document() -> dict[str, Any]:
    return {
        "format": "deskline-report", "schema_version": 1, "report_id": "r1", "created": "2026-11-20T10:00:00Z",
        "host": "laptop", "findings": [],
        "probes": {
            "memory": {"title": "Memory", "status": "ok", "error": None, "data": {
                "total_bytes": 16_000_000_000, "used_percent": 40.0, "available_bytes": 9_000_000_000}},
            "cpu": {"title": "Processor", "status": "ok", "error": None, "data": {"usage_percent": 3.0}},
            "services": {"title": "Services", "status": "ok", "error": None, "data": {
                "failed": [], "failed_total": 0}},
            "network": {"title": "Network", "status": "ok", "error": None, "data": {
                "dns_servers": ["192.0.2.53"], "interfaces": [{"name": "eth0", "up": True, "mtu": 1500,
                                                               "bytes_sent": 10}]}},
        },
    }


def _sides(edit: Any, tolerance: float = 5.0, everything: bool = False) -> list[Change]:
    from agent.diff import Side

    a = _document()
    b = copy.deepcopy(a)
    edit(b)

    def side(d: dict[str, Any]) -> Side:
        return Side("x", d["report_id"], d["created"], d["host"], d["findings"], d["probes"])

    return compare(side(a), side(b), tolerance, everything)


def test_numbers_within_the_tolerance_do_not_count() -> None:
    def small(b: dict[str, Any]) -> None:
        b["probes"]["memory"]["data"]["total_bytes"] = 16_400_000_000  # 2.4 %
        b["probes"]["memory"]["data"]["used_percent"] = 43.0  # 3 points

    assert _sides(small) == []
    assert [c.path for c in _sides(small, tolerance=1)] == ["memory.total_bytes", "memory.used_percent"]


def test_volatile_fields_only_with_everything() -> None:
    def busy(b: dict[str, Any]) -> None:
        b["probes"]["cpu"]["data"]["usage_percent"] = 97.0
        b["probes"]["memory"]["data"]["available_bytes"] = 1_000_000_000
        b["probes"]["network"]["data"]["interfaces"][0]["bytes_sent"] = 10_000_000

    assert _sides(busy) == []
    assert sorted(c.path for c in _sides(busy, everything=True)) == [
        "cpu.usage_percent", "memory.available_bytes", "network.interfaces[eth0].bytes_sent"]


def test_services_newly_failed_and_recovered() -> None:
    def failed(b: dict[str, Any]) -> None:
        b["probes"]["services"]["data"]["failed"] = [{"name": "cups.service", "description": "CUPS Scheduler",
                                                      "result": "exit-code"}]
        b["probes"]["services"]["data"]["failed_total"] = 1

    changes = _sides(failed)
    assert [(c.kind, c.text) for c in changes] == [
        ("service_failed", "newly failed: cups.service (CUPS Scheduler, exit-code)")]


def test_findings_probe_status_records_and_lists() -> None:
    finding = {"id": "dns.unreachable", "severity": "warning", "title": "DNS does not answer", "probe": "network",
               "subject": "192.0.2.53", "detail": "", "next_step": ""}

    def edit(b: dict[str, Any]) -> None:
        b["findings"] = [dict(finding, severity="critical")]
        b["probes"]["cpu"] = {"title": "Processor", "status": "timeout", "error": "took longer than 5 s", "data": None}
        b["probes"]["network"]["data"]["dns_servers"] = ["192.0.2.54"]
        b["probes"]["network"]["data"]["interfaces"][0]["mtu"] = 1400
        b["probes"]["network"]["data"]["interfaces"].append({"name": "wg0", "up": True, "mtu": 1420, "bytes_sent": 0})

    texts = {c.kind: c.text for c in _sides(edit)}
    assert texts == {
        "finding_appeared": "appeared: [critical] DNS does not answer",
        "probe_status": "cpu: ok → timeout (took longer than 5 s)",
        "item_added": "network.interfaces: + wg0",
        "item_removed": "network.dns_servers: − '192.0.2.53'",
        "field": "network.interfaces[eth0].mtu: 1500 → 1400",
    }
    both = _document()
    both["findings"] = [finding]
    from agent.diff import Side

    def side(d: dict[str, Any]) -> Side:
        return Side("x", "", "", "", d["findings"], d["probes"])

    worse = _document()
    worse["findings"] = [dict(finding, severity="critical")]
    assert [c.text for c in compare(side(both), side(worse))] == ["warning → critical: DNS does not answer"]


def test_version_order() -> None:
    assert version_order("1.0-1", "1.2-1") == -1
    assert version_order("1.10", "1.9") == 1
    assert version_order("2:1.0", "1:9.9") == 1
    assert version_order("1.0~rc1", "1.0") == -1
    assert version_order("1.0", "1.0.1") == -1
    assert version_order("3.0.2-0ubuntu1.10", "3.0.2-0ubuntu1.12") == -1
    assert version_order("1.0", "1.0") == 0
