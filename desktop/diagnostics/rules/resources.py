"""Resource rules: memory and swap, processor load, runaway and memory-hungry programs, zombies,
battery wear and charge, and temperatures.

Every limit comes from ``[thresholds]``. A rule names the program to act on when another probe's
result tells it (the memory rule names the biggest memory user when the processes probe ran), but
needs only its own probe to run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime

from desktop.diagnostics.findings import (
    CRITICAL,
    WARNING,
    Finding,
    Results,
    Thresholds,
    human_bytes,
    human_duration,
    rule,
)
from desktop.diagnostics.probes.cpu import CpuResult
from desktop.diagnostics.probes.memory import MemoryResult
from desktop.diagnostics.probes.power import PowerResult
from desktop.diagnostics.probes.processes import ProcessesResult, ProcessInfo
from desktop.diagnostics.probes.sensors import SensorsResult, Temperature

#: Without a high mark from the chip, a temperature above this is called out (thresholds.temperature_margin_celsius
#: documents it: "or above 90 °C without one").
NO_MARK_CELSIUS = 90.0
#: Readings outside this range are not temperatures: unconnected sensors report 127 or -128 °C.
PLAUSIBLE_CELSIUS = (-40.0, 125.0)

#: Plain names for common sensor chips.
CHIP_NAMES = {
    "coretemp": "processor",
    "k10temp": "processor",
    "zenpower": "processor",
    "cpu_thermal": "processor",
    "x86_pkg_temp": "processor",
    "nvme": "SSD",
    "drivetemp": "disk",
    "amdgpu": "graphics card",
    "radeon": "graphics card",
    "nouveau": "graphics card",
    "i915": "graphics card",
    "acpitz": "mainboard",
    "pch_skylake": "chipset",
    "pch_cannonlake": "chipset",
    "iwlwifi_1": "Wi-Fi adapter",
    "thinkpad": "laptop",
    "dell_smm": "laptop",
    "applesmc": "laptop",
}


def _percent(part: float, whole: float) -> float:
    return 100.0 * part / whole if whole > 0 else 0.0


def _top(results: Results, by: str) -> ProcessInfo | None:
    """The biggest user by ``cpu`` or ``memory`` when the processes probe ran, else None."""
    r = results.get("processes")
    if not isinstance(r, ProcessesResult):
        return None
    listed = r.top_cpu if by == "cpu" else r.top_memory
    return listed[0] if listed else None


def _program(p: ProcessInfo) -> str:
    return f"{p.name} (process {p.pid})"


def _when(iso: str) -> str:
    """An ISO time as people read it: ``2 March 2026 at 09:14``."""
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    return f"{moment.day} {moment:%B %Y} at {moment:%H:%M}"


@rule("memory.pressure", "memory")
def memory_pressure(results: Results, thresholds: Thresholds) -> Iterator[Finding]:
    """Little RAM left for programs, or programs stalled waiting for memory (Linux PSI)."""
    r: MemoryResult = results["memory"]
    limit = float(thresholds["memory_available_percent"])
    stall_limit = float(thresholds["memory_psi_some_avg60"])
    available = _percent(r.available_bytes, r.total_bytes)
    low = available < limit
    stalled = r.psi_some_avg60 is not None and r.psi_some_avg60 > stall_limit
    if not (low or stalled):
        return
    # everything stalled at once ("full") as often as the limit allows "some": the machine is thrashing
    thrashing = r.psi_full_avg60 is not None and r.psi_full_avg60 > stall_limit
    severity = CRITICAL if available < limit / 2 or thrashing else WARNING
    parts = [
        f"Only {human_bytes(r.available_bytes)} of {human_bytes(r.total_bytes)} of memory ({available:.1f}%) "
        "is free for programs."
    ]
    if r.psi_some_avg60 is not None and (stalled or r.psi_some_avg60 >= 1):
        parts.append(f"Over the last minute programs were held up waiting for memory {r.psi_some_avg60:.0f}% "
                     "of the time.")
    if r.swap_total_bytes:
        parts.append(f"{human_bytes(r.swap_used_bytes)} has been moved out to disk (swap).")
    if r.oom_kills:
        parts.append(f"Since it started, the system has had to close {r.oom_kills} program"
                     f"{'s' if r.oom_kills != 1 else ''} for lack of memory.")
    if r.shared_bytes and r.shared_bytes > 0.2 * r.total_bytes:
        parts.append(f"{human_bytes(r.shared_bytes)} is held by temporary files kept in memory (/dev/shm, tmpfs).")
    top = _top(results, "memory")
    if top is not None:
        parts.append(f"The program using the most memory is {_program(top)}, with "
                     f"{human_bytes(top.memory_rss_bytes)}.")
        step = (f"Save your work and close programs you are not using, starting with {top.name}; a web browser "
                "with many tabs open uses a lot. If this keeps happening, ask IT about more memory.")
    else:
        step = ("Save your work and close programs you are not using (a web browser with many tabs open uses a "
                "lot). If this keeps happening, ask IT about more memory.")
    yield Finding(
        id="memory.pressure",
        severity=severity,
        title="The computer is running out of memory" if low else "Programs are waiting for memory",
        detail=" ".join(parts),
        next_step=step,
        probe="memory",
        evidence={
            "available_percent": round(available, 1),
            "available_bytes": r.available_bytes,
            "total_bytes": r.total_bytes,
            "psi_some_avg60": r.psi_some_avg60,
            "psi_full_avg60": r.psi_full_avg60,
            "threshold_available_percent": limit,
            "threshold_psi_some_avg60": stall_limit,
        },
    )


@rule("memory.swap_heavy", "memory")
def swap_heavy(results: Results, thresholds: Thresholds) -> Iterator[Finding]:
    """Most of the swap space is in use: the computer has been short of memory for a while."""
    r: MemoryResult = results["memory"]
    limit = float(thresholds["swap_used_percent"])
    if not r.swap_total_bytes or r.swap_used_percent is None or r.swap_used_percent <= limit:
        return
    # swap nearly full while RAM is short too: the next big allocation has nowhere to go
    ram_short = _percent(r.available_bytes, r.total_bytes) < float(thresholds["memory_available_percent"])
    detail = (f"{human_bytes(r.swap_used_bytes)} of {human_bytes(r.swap_total_bytes)} of swap space "
              f"({r.swap_used_percent:.0f}%) is in use: memory has been moved out to disk, which makes programs "
              "slow to respond.")
    if r.swap_out_bytes:
        detail += f" {human_bytes(r.swap_out_bytes)} has been written to swap since the computer started."
    if ram_short:
        detail += f" Memory is short as well: {human_bytes(r.available_bytes)} is free."
    yield Finding(
        id="memory.swap_heavy",
        severity=CRITICAL if ram_short else WARNING,
        title="Swap space is almost full",
        detail=detail,
        next_step=("Save your work, then close the programs that have been open the longest or use the most memory. "
                   "If the computer stays slow, restart it."),
        probe="memory",
        evidence={
            "swap_used_percent": r.swap_used_percent,
            "swap_used_bytes": r.swap_used_bytes,
            "swap_total_bytes": r.swap_total_bytes,
            "threshold": limit,
        },
    )


@rule("cpu.high_load", "cpu")
def high_load(results: Results, thresholds: Thresholds) -> Iterator[Finding]:
    """More work waiting for the processor than it has cores, over five minutes."""
    r: CpuResult = results["cpu"]
    limit = float(thresholds["load_per_core"])
    if r.load_5 is None or r.logical_cores < 1:
        return
    per_core = r.load_5 / r.logical_cores
    if per_core <= limit:
        return
    detail = (f"Over the last 5 minutes an average of {r.load_5:.1f} tasks wanted the processor, which has "
              f"{r.logical_cores} core{'s' if r.logical_cores != 1 else ''}: {per_core:.1f} per core.")
    if r.iowait_percent is not None and r.iowait_percent >= 20:
        detail += f" Much of the waiting is for the disk ({r.iowait_percent:.0f}% of the time just now)."
    top = _top(results, "cpu")
    if top is not None:
        detail += f" The busiest program right now is {_program(top)}, at {top.cpu_percent:.0f}% of a core."
        step = (f"Close {top.name} if you do not need it right now, or close and reopen it; "
                "if the computer stays slow, restart it.")
    else:
        step = "Close programs you do not need right now; if the computer stays slow, restart it."
    yield Finding(
        id="cpu.high_load",
        severity=CRITICAL if per_core > 2 * limit else WARNING,
        title="The processor is overloaded",
        detail=detail,
        next_step=step,
        probe="cpu",
        evidence={"load_5": r.load_5, "logical_cores": r.logical_cores, "load_per_core": round(per_core, 2),
                  "threshold": limit},
    )


@rule("processes.runaway_cpu", "processes")
def runaway_cpu(results: Results, thresholds: Thresholds) -> Iterator[Finding]:
    """A program keeps a processor core (or more) busy."""
    r: ProcessesResult = results["processes"]
    limit = float(thresholds["runaway_cpu_percent"])
    for p in r.top_cpu:
        if p.cpu_percent <= limit:
            continue
        if p.cpu_percent >= 150:
            use = f"kept about {p.cpu_percent / 100:.0f} processor cores busy ({p.cpu_percent:.0f}% of one core)"
        else:
            use = f"kept a processor core {min(p.cpu_percent, 100.0):.0f}% busy"
        yield Finding(
            id="processes.runaway_cpu",
            severity=WARNING,
            title=f"{p.name} is keeping the processor busy",
            detail=(f"{_program(p)} {use} while it was measured ({r.sample_seconds:g} s)"
                    + (f"; it runs as {p.user}" if p.user else "")
                    + (f" and was started {_when(p.create_time)}." if p.create_time else ".")
                    + " A program stuck like this slows everything else down and drains the battery."),
            next_step=(f"Save your work in {p.name}, then close it and open it again. If it does not close, end it "
                       "from the task manager, or restart the computer."),
            probe="processes",
            subject=f"{p.name} ({p.pid})",
            evidence={"pid": p.pid, "name": p.name, "cpu_percent": p.cpu_percent, "threshold": limit},
        )


@rule("processes.memory_hog", "processes")
def memory_hog(results: Results, thresholds: Thresholds) -> Iterator[Finding]:
    """A program holds a large share of all RAM."""
    r: ProcessesResult = results["processes"]
    limit = float(thresholds["runaway_memory_percent"])
    for p in r.top_memory:
        if p.memory_percent <= limit:
            continue
        yield Finding(
            id="processes.memory_hog",
            # past halfway from the limit to all of RAM, nothing else has room left
            severity=CRITICAL if p.memory_percent >= (limit + 100) / 2 else WARNING,
            title=f"{p.name} is using a large part of the memory",
            detail=(f"{_program(p)} holds {human_bytes(p.memory_rss_bytes)}, {p.memory_percent:.0f}% of all "
                    "memory. Other programs are left with little, and the computer slows down."),
            next_step=(f"Save your work in {p.name}, then close it and open it again; it will start with far less "
                       "memory. If it grows back quickly, tell IT which program it is."),
            probe="processes",
            subject=f"{p.name} ({p.pid})",
            evidence={"pid": p.pid, "name": p.name, "memory_percent": p.memory_percent,
                      "memory_rss_bytes": p.memory_rss_bytes, "threshold": limit},
        )


@rule("processes.zombies", "processes")
def zombies(results: Results, thresholds: Thresholds) -> Iterator[Finding]:
    """Many finished processes were never collected by the program that started them."""
    r: ProcessesResult = results["processes"]
    limit = int(thresholds["zombies"])
    if r.zombies <= limit:
        return
    parents = Counter((z.parent_pid, z.parent_name) for z in r.zombie_list)
    detail = (f"{r.zombies} finished programs are still listed because the program that started them has not "
              "cleaned up after them (zombie processes). They use no memory or processor time themselves, but "
              "they show that program is not working properly.")
    step = "Restart the computer if the number keeps growing."
    evidence: dict[str, str | int | float | bool | None] = {"zombies": r.zombies, "threshold": limit}
    if parents:
        (ppid, pname), count = parents.most_common(1)[0]
        culprit = f"{pname or 'an unknown program'} (process {ppid})"
        detail += f" {count} of those listed were left by {culprit}."
        step = (f"Close and reopen {pname}, which should clean them up; restart the computer if the number keeps "
                "growing.") if pname else step
        evidence.update(parent_pid=ppid, parent_name=pname)
    yield Finding(
        id="processes.zombies",
        severity=WARNING,
        title="A program is leaving finished processes behind",
        detail=detail,
        next_step=step,
        probe="processes",
        evidence=evidence,
    )


@rule("power.battery_health", "power")
def battery_health(results: Results, thresholds: Thresholds) -> Iterator[Finding]:
    """The battery holds much less than it did when new."""
    r: PowerResult = results["power"]
    limit = float(thresholds["battery_health_percent"])
    for b in r.batteries:
        if b.health_percent is None or b.health_percent >= limit:
            continue
        which = " ".join(x for x in (b.manufacturer, b.model) if x)
        capacity = f" ({b.full_wh:g} Wh of {b.design_wh:g} Wh)" if b.full_wh and b.design_wh else ""
        cycles = f", after {b.cycle_count} charge cycles" if b.cycle_count else ""
        yield Finding(
            id="power.battery_health",
            severity=CRITICAL if b.health_percent < limit / 2 else WARNING,
            title="The battery is worn out",
            detail=(f"The battery{f' ({which})' if which else ''} now holds only {b.health_percent:.0f}% of the "
                    f"charge it held when new{capacity}{cycles}, so it runs out much sooner than it should."),
            next_step=("Ask IT to replace the battery. Until then, keep the charger connected when you can, and "
                       "save your work often when on battery."),
            probe="power",
            subject=b.name,
            evidence={"health_percent": b.health_percent, "cycle_count": b.cycle_count, "threshold": limit},
        )


@rule("power.battery_low", "power")
def battery_low(results: Results, thresholds: Thresholds) -> Iterator[Finding]:
    """Running on battery with little charge left."""
    r: PowerResult = results["power"]
    limit = float(thresholds["battery_low_percent"])
    on_battery = r.ac_connected is False or (r.ac_connected is None and r.status == "discharging")
    if not r.battery_present or not on_battery or r.percent is None or r.percent >= limit:
        return
    left = f", about {human_duration(r.seconds_left)} left" if r.seconds_left else ""
    yield Finding(
        id="power.battery_low",
        severity=CRITICAL if r.percent < limit / 2 else WARNING,
        title="The battery is almost empty",
        detail=f"The computer is running on battery at {r.percent:.0f}%{left}. It will switch itself off soon.",
        next_step="Connect the charger now, and save your work.",
        probe="power",
        evidence={"percent": r.percent, "seconds_left": r.seconds_left, "threshold": limit},
    )


def _heat(t: Temperature, margin: float) -> str | None:
    """How bad one reading is: CRITICAL, WARNING or None."""
    low, high = PLAUSIBLE_CELSIUS
    if not low < t.current_celsius < high:
        return None
    if t.critical_celsius is not None and t.critical_celsius > 0 and t.current_celsius >= t.critical_celsius:
        return CRITICAL
    if t.high_celsius is not None and t.high_celsius > 0:
        return WARNING if t.current_celsius >= t.high_celsius - margin else None
    return WARNING if t.current_celsius > NO_MARK_CELSIUS else None


def _marks(t: Temperature) -> str:
    high, crit = t.high_celsius, t.critical_celsius
    if high and crit:
        if round(high) == round(crit):
            return f"; its high and critical marks are both {high:.0f} °C"
        return f"; its high mark is {high:.0f} °C and its critical mark {crit:.0f} °C"
    if high:
        return f"; its high mark is {high:.0f} °C"
    if crit:
        return f", above {NO_MARK_CELSIUS:.0f} °C; its critical mark is {crit:.0f} °C"
    return f", above {NO_MARK_CELSIUS:.0f} °C"


@rule("sensors.overheating", "sensors")
def overheating(results: Results, thresholds: Thresholds) -> Iterator[Finding]:
    """A part of the computer is at or near the temperature its chip calls high or critical."""
    r: SensorsResult = results["sensors"]
    margin = float(thresholds["temperature_margin_celsius"])
    worst: dict[str, tuple[str, Temperature]] = {}  # one finding per chip: its hottest sensor in trouble
    for t in r.temperatures:
        level = _heat(t, margin)
        if level is None:
            continue
        seen = worst.get(t.chip)
        rank = (level == CRITICAL, t.current_celsius)
        if seen is None or rank > (seen[0] == CRITICAL, seen[1].current_celsius):
            worst[t.chip] = (level, t)
    fans_stopped = bool(r.fans) and all(f.rpm == 0 for f in r.fans)
    for chip, (level, t) in worst.items():
        part = CHIP_NAMES.get(chip, chip)
        sensor = f"{chip}, {t.label}" if t.label else chip
        detail = f"The {part} temperature ({sensor}) is {t.current_celsius:.0f} °C{_marks(t)}."
        if level == CRITICAL:
            detail += " At this temperature the hardware slows itself down hard or switches off to protect itself."
        if fans_stopped:
            detail += " The fans report that they are standing still."
        yield Finding(
            id="sensors.overheating",
            severity=level,
            title=f"The {part} is {'overheating' if level == CRITICAL else 'running very hot'}",
            detail=detail,
            next_step=("Make sure the air vents are free and not dusty, and use a laptop on a hard, flat surface; "
                       "close demanding programs. If it stays this hot, ask IT to check the cooling."),
            probe="sensors",
            subject=chip,
            evidence={"label": t.label, "current_celsius": t.current_celsius, "high_celsius": t.high_celsius,
                      "critical_celsius": t.critical_celsius, "margin_celsius": margin},
        )
