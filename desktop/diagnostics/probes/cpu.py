"""Processor: model, cores, frequency, load and use per core."""

from __future__ import annotations

import os
import platform
import time
from dataclasses import dataclass

import psutil

from desktop.diagnostics.base import LINUX, MACOS, WINDOWS, Argument, ProbeContext, field

NAME = "cpu"
TITLE = "Processor"

#: What an engineer may set for one remote command (the same as the processes probe's sampling interval).
ARGUMENTS = (
    Argument("processes.sample_seconds", "number", "Seconds over which CPU use of the machine and of each "
             "process is measured (0: no wait; the first reading is then meaningless)", unit="s",
             minimum=0, maximum=2),
)


@dataclass(frozen=True)
class CpuResult:
    model: str = field(doc="Processor model as the vendor names it ('' when the platform does not say)")
    architecture: str = field(doc="Machine architecture (x86_64, arm64, ...)")
    physical_cores: int | None = field(unit="cores", doc="Physical cores (None when unknown)")
    logical_cores: int = field(unit="cores", doc="Logical processors the OS schedules on")
    frequency_mhz: float | None = field(unit="MHz", doc="Current frequency, averaged over cores")
    frequency_max_mhz: float | None = field(unit="MHz", doc="Highest rated frequency (None when unknown)")
    load_1: float | None = field(unit="tasks", doc="Load average over 1 minute (emulated on Windows)")
    load_5: float | None = field(unit="tasks", doc="Load average over 5 minutes")
    load_15: float | None = field(unit="tasks", doc="Load average over 15 minutes")
    usage_percent: float = field(unit="%", doc="Use of all cores together over the sampling interval")
    per_core_percent: tuple[float, ...] = field(unit="%", doc="Use of each logical core over the interval")
    iowait_percent: float | None = field(unit="%", doc="Time spent waiting for I/O (Linux), over the interval")
    steal_percent: float | None = field(unit="%", doc="Time taken by the hypervisor (Linux VMs), over the interval")
    sample_seconds: float = field(unit="s", doc="Length of the sampling interval the percentages cover")


RESULT = CpuResult


def _model(ctx: ProbeContext) -> str:
    if ctx.platform == LINUX:
        try:
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
                for line in fh:
                    key, _, value = line.partition(":")
                    if key.strip() in ("model name", "Hardware", "Processor", "cpu model"):
                        return value.strip()
        except OSError:
            return ""
    if ctx.platform == MACOS:
        try:
            out = ctx.run(["/usr/sbin/sysctl", "-n", "machdep.cpu.brand_string"], timeout=2)
            return out.stdout.strip()
        except Exception:  # noqa: BLE001 - the model is a nicety, never a failure
            return platform.processor()
    if ctx.platform == WINDOWS:
        try:
            import winreg  # type: ignore[import-not-found,unused-ignore]

            key = winreg.OpenKey(  # type: ignore[attr-defined,unused-ignore]
                winreg.HKEY_LOCAL_MACHINE,  # type: ignore[attr-defined,unused-ignore]
                r"HARDWARE\DESCRIPTION\System\CentralProcessor\0",
            )
            return str(winreg.QueryValueEx(key, "ProcessorNameString")[0]).strip()  # type: ignore[attr-defined,unused-ignore]
        except OSError:
            return platform.processor()
    return platform.processor()


def collect(ctx: ProbeContext) -> CpuResult:
    interval = float(ctx.setting("processes.sample_seconds", 0.1))
    before = psutil.cpu_times(percpu=True)
    total_before = psutil.cpu_times()
    freq = psutil.cpu_freq() if hasattr(psutil, "cpu_freq") else None
    model = _model(ctx)
    try:
        load: tuple[float, float, float] | None = psutil.getloadavg()
    except (OSError, AttributeError):
        load = None
    psutil_sleep = max(0.0, interval)
    time.sleep(psutil_sleep)
    after = psutil.cpu_times(percpu=True)
    total_after = psutil.cpu_times()
    per_core = tuple(round(_busy(a, b), 1) for a, b in zip(before, after, strict=False))
    total = _percentages(total_before, total_after)
    return CpuResult(
        model=model,
        architecture=platform.machine(),
        physical_cores=psutil.cpu_count(logical=False),
        logical_cores=psutil.cpu_count() or os.cpu_count() or 1,
        frequency_mhz=round(freq.current, 1) if freq and freq.current else None,
        frequency_max_mhz=round(freq.max, 1) if freq and freq.max else None,
        load_1=round(load[0], 2) if load else None,
        load_5=round(load[1], 2) if load else None,
        load_15=round(load[2], 2) if load else None,
        usage_percent=round(total["busy"], 1),
        per_core_percent=per_core,
        iowait_percent=total.get("iowait"),
        steal_percent=total.get("steal"),
        sample_seconds=psutil_sleep,
    )


def _busy(t1: object, t2: object) -> float:
    return _percentages(t1, t2)["busy"]


def _percentages(t1: object, t2: object) -> dict[str, float]:
    """Share of each CPU time category between two psutil cpu_times samples, in percent."""
    fields = t1._fields  # type: ignore[attr-defined]
    # guest time is already counted in user time on Linux; counting it twice inflates the total
    counted = [f for f in fields if f not in ("guest", "guest_nice")]
    delta = {f: max(0.0, getattr(t2, f) - getattr(t1, f)) for f in counted}
    span = sum(delta.values())
    if span <= 0:
        return {"busy": 0.0, **({"iowait": 0.0} if "iowait" in delta else {})}
    idle = delta.get("idle", 0.0) + delta.get("iowait", 0.0)
    out = {"busy": 100.0 * (span - idle) / span}
    for name in ("iowait", "steal"):
        if name in delta:
            out[name] = round(100.0 * delta[name] / span, 1)
    return out
