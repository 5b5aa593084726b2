"""Contracts every part must keep (psutil's test_contracts.py, napari's import-linter rules)."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

from desktop.diagnostics import findings, registry
from desktop.diagnostics.base import ProbeContext, describe
from desktop.diagnostics.runner import OK, UNSUPPORTED, run_probes
from desktop.diagnostics.schema import _type_schema

ROOT = Path(__file__).resolve().parents[1]
QT_FREE = [ROOT / "desktop" / "diagnostics", ROOT / "agent", ROOT / "desktop" / "config.py",
           ROOT / "desktop" / "errors.py"]
QT_MODULES = ("PySide6", "shiboken6", "PyQt5", "PyQt6", "desktop.ui")


def _python_files() -> list[Path]:
    out: list[Path] = []
    for p in QT_FREE:
        out.extend(sorted(p.rglob("*.py")) if p.is_dir() else [p])
    return out


@pytest.mark.parametrize("path", _python_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_qt_outside_the_ui(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for name in names:
            assert not name.startswith(QT_MODULES), f"{path.relative_to(ROOT)}:{node.lineno} imports {name}"


PROBES = registry.probes()


def test_every_listed_probe_loads() -> None:
    assert [p.name for p in PROBES] == list(registry.PROBES), registry.load_all()[1]


@pytest.mark.parametrize("probe", PROBES, ids=lambda p: p.name)
def test_probe_declares_a_frozen_typed_result(probe: registry.ProbeInfo) -> None:
    cls = probe.result_type
    assert dataclasses.is_dataclass(cls)
    assert cls.__dataclass_params__.frozen, f"{cls.__name__} must be frozen"  # type: ignore[attr-defined]
    assert probe.title, f"{probe.name} has no title"
    for row in describe(cls):
        assert row.doc, f"{probe.name}.{row.name} has no doc"
    _type_schema(cls, {})  # raises for types a report cannot hold


@pytest.mark.parametrize("probe", PROBES, ids=lambda p: p.name)
def test_probe_returns_its_declared_type_here(probe: registry.ProbeInfo) -> None:
    (outcome,) = run_probes([probe], ProbeContext())
    assert outcome.status in (OK, UNSUPPORTED), f"{probe.name}: {outcome.status}: {outcome.error}"
    if outcome.status == OK:
        assert type(outcome.result) is probe.result_type


def test_rules_have_unique_ids_and_known_probes() -> None:
    rules = findings.rules()
    assert len(rules) >= 15
    for rid, r in rules.items():
        assert rid.count(".") >= 1 and rid == rid.lower(), rid
        assert r.probes and set(r.probes) <= set(registry.PROBES), rid
