"""The runner: parallel probes, each under its own timeout; one bad probe never spoils the others."""

from __future__ import annotations

import threading
import time
import types
from dataclasses import dataclass

from desktop.diagnostics.base import ProbeContext, ProbeError, Unsupported, field
from desktop.diagnostics.registry import ProbeInfo
from desktop.diagnostics.runner import FAILED, OK, TIMEOUT, UNSUPPORTED, run_probes


@dataclass(frozen=True)
class Value:
    n: int = field(doc="a number")


def fake(name: str, collect: object, timeout: float | None = None) -> ProbeInfo:
    mod = types.SimpleNamespace(NAME=name, TITLE=name.title(), RESULT=Value, collect=collect)
    if timeout is not None:
        mod.TIMEOUT = timeout
    return ProbeInfo(name, name.title(), mod)  # type: ignore[arg-type]


def test_each_failure_kind_is_recorded_and_the_rest_kept() -> None:
    release = threading.Event()

    def hang(ctx: ProbeContext) -> Value:
        release.wait(30)
        return Value(0)

    def boom(ctx: ProbeContext) -> Value:
        raise ZeroDivisionError("division by zero")

    def bad_type(ctx: ProbeContext) -> object:
        return {"n": 1}

    def not_here(ctx: ProbeContext) -> Value:
        raise Unsupported("widgets are not supported on plan9")

    def probe_error(ctx: ProbeContext) -> Value:
        raise ProbeError("journalctl: no answer within 3 s")

    probes = [
        fake("good", lambda ctx: Value(1)),
        fake("hang", hang, timeout=0.3),
        fake("boom", boom),
        fake("badtype", bad_type),
        fake("unsupported", not_here),
        fake("perr", probe_error),
    ]
    start = time.perf_counter()
    try:
        out = {o.name: o for o in run_probes(probes, ProbeContext())}
    finally:
        release.set()
    elapsed = time.perf_counter() - start
    assert elapsed < 5, "a hanging probe held up the report"
    assert out["good"].status == OK and out["good"].result == Value(1)
    assert out["hang"].status == TIMEOUT and out["hang"].error == "no result within 0.3 s"
    assert out["boom"].status == FAILED and out["boom"].error == "ZeroDivisionError: division by zero"
    assert out["badtype"].status == FAILED and "returned dict, not Value" in (out["badtype"].error or "")
    assert out["unsupported"].status == UNSUPPORTED and "plan9" in (out["unsupported"].error or "")
    assert out["perr"].status == FAILED and out["perr"].error == "journalctl: no answer within 3 s"
    assert list(out) == [p.name for p in probes]


def test_probes_run_in_parallel() -> None:
    barrier = threading.Barrier(3, timeout=5)

    def meet(ctx: ProbeContext) -> Value:
        barrier.wait()  # only passes if all three run at the same time
        return Value(2)

    out = run_probes([fake(f"p{i}", meet) for i in range(3)], ProbeContext())
    assert [o.status for o in out] == [OK, OK, OK]


def test_timeout_from_settings_overrides_module() -> None:
    release = threading.Event()

    def slow(ctx: ProbeContext) -> Value:
        release.wait(10)
        return Value(3)

    ctx = ProbeContext(settings={"timeouts": {"slow": 0.2}})
    try:
        (o,) = run_probes([fake("slow", slow, timeout=30)], ctx)
    finally:
        release.set()
    assert o.status == TIMEOUT and o.error == "no result within 0.2 s"


def test_progress_reports_every_probe_once() -> None:
    seen: list[tuple[str, int, int]] = []
    run_probes([fake(f"p{i}", lambda ctx: Value(1)) for i in range(4)], ProbeContext(),
               progress=lambda o, done, total: seen.append((o.name, done, total)))
    assert sorted(n for n, _, _ in seen) == ["p0", "p1", "p2", "p3"]
    assert [d for _, d, _ in seen] == [1, 2, 3, 4] and {t for _, _, t in seen} == {4}
