"""The report end to end on this machine: every probe, schema-valid, redacted, rendered and bundled."""

from __future__ import annotations

import json
import os
import threading
import zipfile
from pathlib import Path

import jsonschema
import pytest

from desktop.diagnostics import bundle, registry, render, report
from desktop.diagnostics.base import ProbeContext
from desktop.diagnostics.findings import Finding
from desktop.diagnostics.runner import OK, ProbeOutcome, run_probes
from desktop.diagnostics.schema import report_schema
from desktop.errors import ReportError

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FILE = ROOT / "resources" / "report.schema.json"
SECRET = "Zq8-kT3p-Vv9x"  # looks like nothing else on a machine


@pytest.fixture(scope="module")
def full_report() -> report.Report:
    return report.build(registry.probes())


def validate(document: dict) -> None:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(document)


def test_published_schema_is_current() -> None:
    published = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert published == report_schema(), \
        "resources/report.schema.json is stale: run `deskline schema -o resources/report.schema.json`"
    jsonschema.Draft202012Validator.check_schema(published)


def test_full_report_has_every_probe_and_is_valid(full_report: report.Report) -> None:
    doc = full_report.document
    validate(doc)
    assert list(doc["probes"]) == list(registry.PROBES), "a probe is missing or failed to import"
    assert not registry.load_all()[1], f"broken probes: {registry.load_all()[1]}"
    on_linux = {n: p for n, p in doc["probes"].items() if p["status"] != OK}
    # on this Linux machine every probe works; none may fail or time out
    assert all(p["status"] == "ok" for p in doc["probes"].values()), on_linux
    assert doc["timings"]["total_ms"] > 0


def test_schema_rejects_what_it_should(full_report: report.Report) -> None:
    doc = json.loads(json.dumps(full_report.document))
    doc["probes"]["cpu"]["data"]["usage_percent"] = "high"
    with pytest.raises(jsonschema.ValidationError):
        validate(doc)
    doc = json.loads(json.dumps(full_report.document))
    doc["probes"]["cpu"]["data"]["extra"] = 1
    with pytest.raises(jsonschema.ValidationError):
        validate(doc)
    doc = json.loads(json.dumps(full_report.document))
    doc["probes"]["cpu"]["status"] = "failed"  # failed must carry an error and no data
    with pytest.raises(jsonschema.ValidationError):
        validate(doc)


def test_secrets_never_reach_any_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", f"http://alice:{SECRET}@proxy.example.org:3128")
    log = tmp_path / "app.log"
    log.write_text(f"2026-11-21 10:00:00 connecting\ndb_password = {SECRET}\nversion 5.15.0-91 ok\n", encoding="utf-8")
    png = tmp_path / "shot.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) + SECRET.encode())  # binary: kept as is
    rep = report.build(registry.select(["environment", "network"]), attachments=[log, png])
    doc = rep.document
    validate(doc)
    for text in (json.dumps(doc), render.to_markdown(doc), render.to_html(doc)):
        assert SECRET not in text
    kinds = {(m["kind"], m["where"].split(".")[0]) for m in doc["redaction"]["maskings"]}
    assert any(where == "probes" for _, where in kinds), doc["redaction"]
    assert any(m["where"] == "attachments/app.log" and m["line"] == 2 for m in doc["redaction"]["maskings"])
    att = {a.name: a for a in rep.attachments}
    assert SECRET.encode() not in att["app.log"].content
    assert b"version 5.15.0-91 ok" in att["app.log"].content
    assert att["app.log"].redacted and not att["shot.png"].redacted
    assert att["shot.png"].content == png.read_bytes()


def test_bundle_roundtrip_and_tamper_detection(tmp_path: Path) -> None:
    note = tmp_path / "notes.txt"
    note.write_text("printer says PC LOAD LETTER\n", encoding="utf-8")
    twin_dir = tmp_path / "other"
    twin_dir.mkdir()
    (twin_dir / "notes.txt").write_text("second file of the same name\n", encoding="utf-8")
    rep = report.build(registry.select(["cpu", "memory"]), attachments=[note, twin_dir / "notes.txt"])
    path = tmp_path / "r.zip"
    bundle.write_atomic(path, bundle.bundle_bytes(rep))
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        manifest = json.loads(zf.read("manifest.json"))
    assert names[0] == "manifest.json"
    expected = {"report.json", "summary.html", "summary.md", "attachments/notes.txt", "attachments/notes-2.txt"}
    assert expected <= set(names)
    assert {f["path"] for f in manifest["files"]} == set(names) - {"manifest.json"}
    back = bundle.read_bundle(path)
    assert back.document == json.loads(json.dumps(rep.document))
    assert {a.name: a.content for a in back.attachments}["notes-2.txt"] == b"second file of the same name\n"

    tampered = tmp_path / "t.zip"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tampered, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            if name.endswith("notes.txt"):
                data = data.replace(b"PC LOAD LETTER", b"PC LOAD LEGAL!")
            dst.writestr(name, data)
    with pytest.raises(ReportError, match="notes.txt does not match its hash"):
        bundle.read_bundle(tampered)
    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    with pytest.raises(ReportError, match="not a readable bundle"):
        bundle.read_bundle(tmp_path / "junk.zip")


def test_renderers_put_findings_first_and_escape() -> None:
    outcomes = run_probes(registry.select(["cpu"]), ProbeContext())
    hostile = Finding("disk.almost_full", "critical", "Disk <script>alert(1)</script> full", "Only 1% free.",
                      "Empty the trash.", "disks", "/")
    rep = report.assemble(outcomes, [hostile])
    validate(rep.document)
    html_text = render.to_html(rep.document)
    assert "<script>alert(1)</script>" not in html_text and "&lt;script&gt;" in html_text
    assert html_text.index("Findings") < html_text.index("Processor")
    md = render.to_markdown(rep.document)
    assert md.index("**Critical: Disk") < md.index("## Processor")
    assert "| Logical cores |" in md


def test_failed_probe_renders_its_reason() -> None:
    rep = report.assemble([ProbeOutcome("logs", "Recent errors in logs", "timeout", None, "no result within 5 s",
                                        5000.0)], [])
    validate(rep.document)
    assert "*Timeout: no result within 5 s*" in render.to_markdown(rep.document)
    assert "Timeout: no result within 5 s" in render.to_html(rep.document)


def test_write_atomic_never_replaces_a_device(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    bundle.write_atomic(fifo, b"through the pipe")
    reader.join(5)
    assert received == [b"through the pipe"]
    assert fifo.is_fifo()
    target = tmp_path / "out.json"
    bundle.write_atomic(target, b"{}")
    assert target.read_bytes() == b"{}" and [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def test_pseudonymized_report_is_valid_and_hides_identities() -> None:
    """Pseudonyms replace values, never keys: the document still fits its schema."""
    import socket

    rep = report.build(registry.probes(), pseudonymize=True, keep_private_ips=False)
    validate(rep.document)
    assert rep.document["redaction"]["pseudonymized"] is True
    host = socket.gethostname()
    if host != "localhost" and len(host) >= 3:
        assert host not in json.dumps(rep.document["probes"]["system"])
    plain = report.build(registry.select(["network"])).document["probes"]["network"]["data"]
    masked = rep.document["probes"]["network"]["data"]
    for before, after in zip(plain["default_routes"], masked["default_routes"], strict=True):
        assert after["gateway"] != before["gateway"] or before["gateway"].startswith("127.")
        assert after["gateway"].startswith(("240.", "2001:db8:")), after["gateway"]
    assert [s.startswith(("240.", "2001:db8:", "127.")) for s in masked["dns_servers"]] == \
        [True] * len(masked["dns_servers"])
