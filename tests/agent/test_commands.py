"""agent.commands.execute: the one executor behind the server, the dispatcher and the payload."""

from __future__ import annotations

from agent.commands import execute
from agent.protocol import Exit, parse
from desktop.diagnostics.registry import PROBES


def test_disabled_probes_are_left_out_of_reports_and_refused_by_name() -> None:
    settings = {"disabled": ["software", "logs"]}
    doc = execute(parse("report", PROBES), probe_settings=settings)
    assert doc["ok"] is True
    assert "software" not in doc["result"]["probes"] and "cpu" in doc["result"]["probes"]
    refused = execute(parse("probe software", PROBES), probe_settings=settings)
    assert refused["exit"] == Exit.NOT_ALLOWED and "disabled" in refused["error"]["message"]
    logs = execute(parse("logs auto --since 1h", PROBES), probe_settings=settings)
    assert logs["exit"] == Exit.NOT_ALLOWED


def test_check_answers_findings_and_statuses() -> None:
    doc = execute(parse("check", PROBES), thresholds={"disk_free_percent_warning": 100.0,
                                                      "disk_free_percent_critical": 0.0})
    assert doc["ok"] is True
    assert any(f["id"] == "disk.almost_full" for f in doc["result"]["findings"])
    assert set(doc["result"]["probes"]) == set(PROBES)
