"""The findings framework: rule registry, ordering, and isolation of broken rules and rule modules."""

from __future__ import annotations

import pytest

from desktop.diagnostics import findings
from desktop.diagnostics.findings import Finding, rule


@pytest.mark.allow_warning_logs
def test_broken_rule_module_is_skipped_and_the_rest_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(findings, "RULE_MODULES", (*findings.RULE_MODULES, "no_such_area"))
    monkeypatch.setattr(findings, "_BROKEN_RULE_MODULES", {})
    rules = findings.rules()
    assert "disk.almost_full" in rules
    assert "no_such_area" in findings.broken_rule_modules()


@pytest.mark.allow_warning_logs
def test_a_raising_rule_does_not_hide_the_others(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(findings, "_RULES", {})
    monkeypatch.setattr(findings, "RULE_MODULES", ())

    @rule("test.boom", "cpu")
    def boom(results: findings.Results, thresholds: findings.Thresholds) -> list[Finding]:
        raise RuntimeError("bug")

    @rule("test.fine", "cpu")
    def fine(results: findings.Results, thresholds: findings.Thresholds) -> list[Finding]:
        return [Finding("test.fine", "info", "i", "", "n", "cpu"),
                Finding("test.fine", "critical", "c", "", "n", "cpu")]

    @rule("test.needs_memory", "memory")
    def never(results: findings.Results, thresholds: findings.Thresholds) -> list[Finding]:
        raise AssertionError("must not run without the memory probe's result")

    out = findings.evaluate({"cpu": object()}, {})
    assert [f.severity for f in out] == ["critical", "info"]


def test_unknown_severity_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown severity"):
        Finding("x.y", "urgent", "t", "d", "n", "cpu")


@pytest.mark.parametrize(("seconds", "text"), [(59, "59 seconds"), (61, "1 minute"), (7200, "2 hours"),
                                               (86400 * 3 + 5, "3 days")])
def test_human_duration(seconds: float, text: str) -> None:
    assert findings.human_duration(seconds) == text


def test_human_bytes() -> None:
    assert findings.human_bytes(512) == "512 B"
    assert findings.human_bytes(1536) == "1.5 KiB"
    assert findings.human_bytes(5 * 1024**3) == "5.0 GiB"
