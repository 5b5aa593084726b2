"""A report being written: what the user says, what they attach, and the system report collected
in the background. Shared by the report wizard (which fills it) and the review screen (which trims it
and files it). No Qt here, so it is testable on its own and usable from workers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from desktop.config import Settings
from desktop.diagnostics import registry, report
from desktop.diagnostics.report import Collection, Report, assemble
from desktop.diagnostics.runner import ProbeOutcome


@dataclass
class Draft:
    title: str = ""
    description: str = ""
    category: str = ""
    impact: str = "medium"  # low | medium | high
    urgency: str = "medium"  # low | medium | high
    started: str = ""  # when it started, as the user said it (free text or a date)
    steps: str = ""  # steps to reproduce
    files: list[Path] = field(default_factory=list)  # the user's attachments
    screenshots: list[Path] = field(default_factory=list)  # PNG files, already blacked out, in a temp folder
    collection: Collection | None = None  # None until the background collection finished
    add_to: int | None = None  # incident number of the user's similar ticket to add this to, if they chose so

    def full_description(self) -> str:
        """The user's words as the ticket shows them: description, then when it started and the steps."""
        parts = [self.description.strip()]
        if self.started.strip():
            parts.append(f"Started: {self.started.strip()}")
        if self.steps.strip():
            parts.append("Steps to reproduce:\n" + self.steps.strip())
        return "\n\n".join(p for p in parts if p)


def selected_probes(settings: Settings) -> tuple[registry.ProbeInfo, ...]:
    """The probes a report from the app collects: all but ``probes.disabled`` and ``report.never_send``."""
    skip = set(settings["probes.disabled"]) | set(settings["report.never_send"])
    return tuple(p for p in registry.probes() if p.name not in skip)


def collect(settings: Settings, progress: Callable[[int, int, str], None] | None = None) -> Collection:
    """Run the probes and the rules (seconds; call it from a worker). ``progress(done, total, probe_title)``."""

    def step(outcome: ProbeOutcome, done: int, total: int) -> None:
        if progress is not None:
            progress(done, total, outcome.title)

    return report.collect(selected_probes(settings), probe_settings=settings.probe_settings(),
                          thresholds=settings.section("thresholds"), progress=step)


def make_report(draft: Draft, settings: Settings, *, probes: Sequence[str] | None = None,
                findings: bool = True) -> Report:
    """The redacted report for ``draft``: only the ``probes`` named (all collected when None), the
    findings unless ``findings`` is False, and the draft's files and screenshots."""
    if draft.collection is None:
        raise ValueError("the system report is not collected yet")
    c = draft.collection
    outcomes = [o for o in c.outcomes if probes is None or o.name in probes]
    kept = {o.name for o in outcomes}
    found = [f for f in c.found if f.probe in kept] if findings else []
    return assemble(outcomes, found, created=c.created, pseudonymize=settings["report.pseudonymize"],
                    keep_private_ips=settings["report.keep_private_ips"],
                    attachment_paths=[*draft.files, *draft.screenshots], timings=c.timings)
