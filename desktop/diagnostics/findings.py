"""Findings: rules that turn probe results into plain-language red flags.

Collect, then judge: probes only measure; the rules here read their results after collection and
compare them with thresholds from the settings (``[thresholds]``), never hard-coded in a probe. A
finding says what is wrong in words a non-technical user understands, how bad it is, and what to do
next. The same findings are the L0 health check (``deskline check``) and the red flags at the top of
every ticket.

Rules live in :mod:`desktop.diagnostics.rules`, one module per area, and register with :func:`rule`.
A rule that raises is logged and skipped: a bug in one rule never hides the others' findings.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("deskline.findings")

CRITICAL = "critical"
WARNING = "warning"
INFO = "info"
#: Severities from the worst down; reports list findings in this order.
SEVERITIES = (CRITICAL, WARNING, INFO)

Evidence = Mapping[str, str | int | float | bool | None]


@dataclass(frozen=True)
class Finding:
    """One red flag.

    ``id`` is stable (``disk.almost_full``) so the app can translate it and link knowledge-base
    articles to it; ``subject`` tells apart several findings of one rule (the mount point, the unit).
    """

    id: str
    severity: str
    title: str
    detail: str
    next_step: str
    probe: str
    subject: str = ""
    evidence: Evidence = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"finding {self.id}: unknown severity {self.severity!r}")


#: What rules read: the result dataclass of each probe that succeeded, by probe name.
Results = Mapping[str, Any]
#: The ``[thresholds]`` settings, without the prefix (``disk_free_percent_warning``).
Thresholds = Mapping[str, Any]
RuleFunc = Callable[[Results, Thresholds], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    """A registered rule: the probes it needs (all must have succeeded for it to run) and its function."""

    id: str
    probes: tuple[str, ...]
    func: RuleFunc


_RULES: dict[str, Rule] = {}

#: Rule modules under desktop.diagnostics.rules, imported on first use.
RULE_MODULES = ("system", "resources", "storage", "network", "services")


def rule(rule_id: str, *probes: str) -> Callable[[RuleFunc], RuleFunc]:
    """Register ``func`` as rule ``rule_id``, run only when all of ``probes`` produced results."""

    def register(func: RuleFunc) -> RuleFunc:
        if rule_id in _RULES and _RULES[rule_id].func is not func:
            raise ValueError(f"rule {rule_id} registered twice")
        _RULES[rule_id] = Rule(rule_id, probes, func)
        return func

    return register


_BROKEN_RULE_MODULES: dict[str, str] = {}


def rules() -> dict[str, Rule]:
    """All registered rules, importing the rule modules the first time.

    A rule module that fails to import (a probe module it reads needs psutil, which an agentless
    target may lack) is logged once and skipped; the other modules' rules still run.
    """
    for name in RULE_MODULES:
        if name in _BROKEN_RULE_MODULES:
            continue
        try:
            importlib.import_module(f"desktop.diagnostics.rules.{name}")
        except Exception as exc:  # noqa: BLE001 - one broken module must not stop every report
            _BROKEN_RULE_MODULES[name] = f"{type(exc).__name__}: {exc}"
            log.warning("rules %s disabled: %s", name, _BROKEN_RULE_MODULES[name])
    return dict(_RULES)


def broken_rule_modules() -> dict[str, str]:
    """Rule modules that could not be imported, with the reason."""
    return dict(_BROKEN_RULE_MODULES)


def evaluate(results: Results, thresholds: Thresholds) -> list[Finding]:
    """Apply every rule whose probes succeeded; findings sorted worst first, then by id and subject."""
    found: list[Finding] = []
    for r in rules().values():
        if not all(p in results and results[p] is not None for p in r.probes):
            continue
        try:
            found.extend(r.func(results, thresholds))
        except Exception:  # noqa: BLE001 - one broken rule must not hide the others
            log.exception("rule %s failed", r.id)
    return sorted(found, key=lambda f: (SEVERITIES.index(f.severity), f.id, f.subject))


def human_bytes(n: float) -> str:
    """Bytes as a short human figure in binary units: ``1.5 GiB``."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} PiB"  # pragma: no cover - the loop always returns


def human_duration(seconds: float) -> str:
    """A duration in words a user reads easily: ``3 days``, ``5 hours``, ``12 minutes``."""
    s = abs(seconds)
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if s >= size:
            n = int(s // size)
            return f"{n} {unit}{'s' if n != 1 else ''}"
    n = int(s)
    return f"{n} second{'s' if n != 1 else ''}"
