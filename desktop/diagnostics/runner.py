"""Run probes in parallel, each under its own timeout.

One probe failing, raising or hanging never spoils the report: it is recorded as ``failed`` or
``timeout`` with the reason, and the others are kept. Probes run in daemon threads, so a probe that
hangs forever (a stuck NFS mount, a wedged D-Bus) cannot keep the process from exiting.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from desktop.diagnostics.base import ProbeContext, ProbeError, Unsupported
from desktop.diagnostics.registry import ProbeInfo

log = logging.getLogger("deskline.probes")

OK = "ok"
FAILED = "failed"
TIMEOUT = "timeout"
UNSUPPORTED = "unsupported"
STATUSES = (OK, FAILED, TIMEOUT, UNSUPPORTED)

#: Seconds a probe may take unless the settings or the probe module say otherwise.
DEFAULT_TIMEOUT = 5.0


@dataclass(frozen=True)
class ProbeOutcome:
    """How one probe ended: its result when ``status`` is ``ok``, else the reason in ``error``."""

    name: str
    title: str
    status: str
    result: Any
    error: str | None
    duration_ms: float

    @property
    def ok(self) -> bool:
        return self.status == OK


ProgressCallback = Callable[[ProbeOutcome, int, int], None]


def _timeout_for(probe: ProbeInfo, ctx: ProbeContext) -> float:
    overrides = ctx.setting("timeouts", {}) or {}
    if probe.name in overrides:
        return float(overrides[probe.name])
    return float(getattr(probe.module, "TIMEOUT", ctx.setting("timeout", DEFAULT_TIMEOUT)))


def _run_one(probe: ProbeInfo, ctx: ProbeContext) -> ProbeOutcome:
    start = time.perf_counter()
    error: str | None
    try:
        result = probe.module.collect(ctx)
    except Unsupported as exc:
        status, result, error = UNSUPPORTED, None, str(exc) or f"not supported on {ctx.platform}"
    except ProbeError as exc:
        status, result, error = FAILED, None, str(exc)
    except Exception as exc:  # noqa: BLE001 - a probe's bug must not spoil the report
        log.debug("probe %s raised", probe.name, exc_info=True)
        status, result, error = FAILED, None, f"{type(exc).__name__}: {exc}"
    else:
        if not isinstance(result, probe.result_type):
            status, error = FAILED, f"returned {type(result).__name__}, not {probe.result_type.__name__}"
            result = None
        else:
            status, error = OK, None
    return ProbeOutcome(probe.name, probe.title, status, result, error, (time.perf_counter() - start) * 1000)


def run_probes(
    selected: Iterable[ProbeInfo],
    ctx: ProbeContext,
    progress: ProgressCallback | None = None,
) -> list[ProbeOutcome]:
    """Run ``selected`` probes concurrently; returns their outcomes in the order given."""
    todo = list(selected)
    results: queue.Queue[ProbeOutcome] = queue.Queue()
    started = time.perf_counter()
    deadlines: dict[str, float] = {}
    for probe in todo:
        deadlines[probe.name] = started + _timeout_for(probe, ctx)
        thread = threading.Thread(
            target=lambda p=probe: results.put(_run_one(p, ctx)),
            name=f"probe-{probe.name}",
            daemon=True,
        )
        thread.start()

    done: dict[str, ProbeOutcome] = {}
    pending = {p.name: p for p in todo}
    while pending:
        next_deadline = min(deadlines[n] for n in pending)
        try:
            outcome = results.get(timeout=max(0.0, next_deadline - time.perf_counter()))
        except queue.Empty:
            now = time.perf_counter()
            for name in [n for n in pending if deadlines[n] <= now]:
                probe = pending.pop(name)
                limit = deadlines[name] - started
                outcome = ProbeOutcome(
                    name, probe.title, TIMEOUT, None, f"no result within {limit:g} s", (now - started) * 1000
                )
                log.info("probe %s timed out after %.1f s", name, limit)
                done[name] = outcome
                if progress:
                    progress(outcome, len(done), len(todo))
            continue
        if outcome.name not in pending:  # a late answer from a probe already timed out
            continue
        del pending[outcome.name]
        done[outcome.name] = outcome
        if progress:
            progress(outcome, len(done), len(todo))
    return [done[p.name] for p in todo]
