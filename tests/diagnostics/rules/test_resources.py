"""Resource rules on staged results, and on real results where a test can stage the condition:
a child burning a core (runaway), an unreaped child (zombie), this machine's memory."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from typing import Any

import psutil
import pytest

from desktop.config import SCHEMA_BY_KEY
from desktop.diagnostics import findings
from desktop.diagnostics.base import ProbeContext
from desktop.diagnostics.findings import CRITICAL, WARNING, Finding
from desktop.diagnostics.probes import memory, processes
from desktop.diagnostics.probes.cpu import CpuResult
from desktop.diagnostics.probes.memory import MemoryResult
from desktop.diagnostics.probes.power import BatteryInfo, PowerResult
from desktop.diagnostics.probes.processes import ProcessesResult, ProcessInfo, ZombieInfo
from desktop.diagnostics.probes.sensors import Fan, SensorsResult, Temperature
from tests.diagnostics.probes.test_processes import burner, zombie  # noqa: F401 - fixtures

GIB = 1024**3
DEFAULTS: dict[str, Any] = {
    k.removeprefix("thresholds."): s.default for k, s in SCHEMA_BY_KEY.items() if k.startswith("thresholds.")
}
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def run(rule_id: str, res: dict[str, Any], **overrides: float) -> list[Finding]:
    func = findings.rules()[rule_id].func
    return list(func(res, {**DEFAULTS, **overrides}))


def severities(rule_id: str, res: dict[str, Any], **overrides: float) -> list[str]:
    return [f.severity for f in run(rule_id, res, **overrides)]


# -- staged results: healthy by default, changed by keyword


def mem(**kw: Any) -> MemoryResult:
    total = kw.pop("total", 16 * GIB)
    available = kw.pop("available", 10 * GIB)
    swap_total = kw.pop("swap_total", 2 * GIB)
    swap_used = kw.pop("swap_used", 100 * 2**20)
    values: dict[str, Any] = dict(
        total_bytes=total, available_bytes=available, used_bytes=total - available,
        used_percent=round(100 * (total - available) / total, 1),
        swap_total_bytes=swap_total, swap_used_bytes=swap_used,
        swap_used_percent=round(100 * swap_used / swap_total, 1) if swap_total else None,
        swap_in_bytes=0, swap_out_bytes=200 * 2**20,
        psi_some_avg10=0.0, psi_some_avg60=0.5, psi_some_avg300=0.2,
        psi_full_avg10=0.0, psi_full_avg60=0.0, psi_full_avg300=0.0,
        committed_bytes=8 * GIB, commit_limit_bytes=10 * GIB, commit_percent=80.0,
        cached_bytes=3 * GIB, shared_bytes=500 * 2**20, kernel_unreclaimable_bytes=200 * 2**20,
        hugepages_bytes=0, oom_kills=0,
    )
    values.update(kw)
    return MemoryResult(**values)


def cpu(**kw: Any) -> CpuResult:
    values: dict[str, Any] = dict(
        model="Intel(R) Core(TM) i5-8350U", architecture="x86_64", physical_cores=4, logical_cores=8,
        frequency_mhz=1900.0, frequency_max_mhz=3600.0, load_1=1.2, load_5=0.9, load_15=0.7,
        usage_percent=12.0, per_core_percent=(10.0,) * 8, iowait_percent=0.5, steal_percent=0.0,
        sample_seconds=0.2,
    )
    values.update(kw)
    return CpuResult(**values)


def proc(pid: int = 4411, name: str = "firefox", cpu_percent: float = 3.0, memory_percent: float = 5.0,
         **kw: Any) -> ProcessInfo:
    values: dict[str, Any] = dict(
        pid=pid, name=name, user="alice", cpu_percent=cpu_percent,
        memory_rss_bytes=int(memory_percent / 100 * 16 * GIB), memory_percent=memory_percent,
        status="sleeping", create_time="2026-03-02T09:14:05+01:00", cmdline=f"/usr/lib/{name}/{name}",
    )
    values.update(kw)
    return ProcessInfo(**values)


def procs(top_cpu: tuple[ProcessInfo, ...] = (), top_memory: tuple[ProcessInfo, ...] = (),
          zombie_list: tuple[ZombieInfo, ...] = (), zombies: int | None = None) -> ProcessesResult:
    return ProcessesResult(
        total=312, running=2, sleeping=305, disk_sleep=0, stopped=0,
        zombies=len(zombie_list) if zombies is None else zombies, threads_total=1450, restricted=0,
        top_cpu=top_cpu or (proc(cpu_percent=12.0), proc(pid=812, name="Xorg", cpu_percent=4.0)),
        top_memory=top_memory or (proc(memory_percent=9.0), proc(pid=900, name="thunderbird", memory_percent=4.0)),
        zombie_list=zombie_list, sample_seconds=0.2,
    )


def battery(**kw: Any) -> BatteryInfo:
    values: dict[str, Any] = dict(
        name="BAT0", status="discharging", percent=64.0, health_percent=88.0, full_wh=50.2, design_wh=57.0,
        cycle_count=180, manufacturer="SMP", model="5B10W13930", technology="Li-poly",
    )
    values.update(kw)
    return BatteryInfo(**values)


def pwr(batteries: tuple[BatteryInfo, ...] | None = None, **kw: Any) -> PowerResult:
    values: dict[str, Any] = dict(ac_connected=False, battery_present=True, percent=64.0, seconds_left=9000,
                                  status="discharging", batteries=(battery(),) if batteries is None else batteries)
    values.update(kw)
    return PowerResult(**values)


def temp(current: float, high: float | None = 100.0, critical: float | None = 100.0, chip: str = "coretemp",
         label: str = "Package id 0") -> Temperature:
    return Temperature(chip, label, current, high, critical)


def sens(*temps: Temperature, fans: tuple[Fan, ...] = (Fan("thinkpad", "", 2400),)) -> SensorsResult:
    return SensorsResult(temps, fans, len(temps), "hwmon")


def healthy() -> dict[str, Any]:
    return {
        "memory": mem(), "cpu": cpu(), "processes": procs(), "power": pwr(),
        "sensors": sens(temp(55.0), temp(38.9, 84.9, 84.9, "nvme", "Composite"), temp(45.0, None, 128.0, "acpitz", "")),
    }


RULES = ("memory.pressure", "memory.swap_heavy", "cpu.high_load", "processes.runaway_cpu", "processes.memory_hog",
         "processes.zombies", "power.battery_health", "power.battery_low", "sensors.overheating")


def test_rules_are_registered_on_their_probes() -> None:
    registered = findings.rules()
    for rule_id in RULES:
        assert registered[rule_id].probes == (rule_id.split(".")[0],)


def test_healthy_machine_gives_no_findings() -> None:
    found = findings.evaluate(healthy(), DEFAULTS)
    assert [f.id for f in found if f.id in RULES] == []


def _check_wording(f: Finding) -> None:
    assert f.title
    assert f.detail.endswith(".")
    assert f.next_step.endswith(".")
    assert f.probe in ("memory", "cpu", "processes", "power", "sensors")


# -- memory.pressure


@pytest.mark.parametrize(
    ("available_gib", "expected"),
    [(4.0, []), (1.5, [WARNING]), (0.5, [CRITICAL])],  # 16 GiB: 10% is 1.6 GiB, half of it 0.8 GiB
)
def test_memory_pressure_by_available(available_gib: float, expected: list[str]) -> None:
    res = {"memory": mem(available=int(available_gib * GIB))}
    assert severities("memory.pressure", res) == expected


def test_memory_pressure_threshold_changes_the_outcome() -> None:
    res = {"memory": mem(available=3 * GIB)}  # 18.75% available
    assert severities("memory.pressure", res) == []
    assert severities("memory.pressure", res, memory_available_percent=20.0) == [WARNING]
    assert severities("memory.pressure", res, memory_available_percent=40.0) == [CRITICAL]


def test_memory_pressure_by_psi_stall() -> None:
    res = {"memory": mem(psi_some_avg60=35.8, psi_full_avg60=4.0)}
    (f,) = run("memory.pressure", res)
    assert f.severity == WARNING
    assert f.title == "Programs are waiting for memory"
    assert "36%" in f.detail
    assert run("memory.pressure", res, memory_psi_some_avg60=40.0) == []
    thrashing = {"memory": mem(psi_some_avg60=60.0, psi_full_avg60=30.0)}
    assert severities("memory.pressure", thrashing) == [CRITICAL]


def test_memory_pressure_without_psi_judges_on_ram_alone() -> None:
    res = {"memory": mem(psi_some_avg60=None, psi_full_avg60=None)}
    assert run("memory.pressure", res, memory_psi_some_avg60=0.0) == []


def test_memory_pressure_names_the_biggest_program_and_kernel_hints() -> None:
    hog = proc(pid=4411, name="firefox", memory_percent=61.0)
    res = {"memory": mem(available=1 * GIB, oom_kills=2, shared_bytes=5 * GIB),
           "processes": procs(top_memory=(hog,))}
    (f,) = run("memory.pressure", res)
    _check_wording(f)
    assert f.title == "The computer is running out of memory"
    assert "1.0 GiB of 16.0 GiB" in f.detail
    assert "firefox (process 4411)" in f.detail
    assert "close 2 programs" in f.detail
    assert "5.0 GiB is held by temporary files" in f.detail
    assert "starting with firefox" in f.next_step


# -- memory.swap_heavy


def test_swap_heavy() -> None:
    res = {"memory": mem(swap_used=int(1.9 * GIB))}  # 95%
    (f,) = run("memory.swap_heavy", res)
    _check_wording(f)
    assert f.severity == WARNING
    assert "95%" in f.detail
    assert run("memory.swap_heavy", res, swap_used_percent=96.0) == []
    assert run("memory.swap_heavy", {"memory": mem(swap_used=GIB)}) == []  # 50%
    assert severities("memory.swap_heavy", {"memory": mem(swap_used=GIB)}, swap_used_percent=40.0) == [WARNING]


def test_swap_heavy_with_ram_short_is_critical_and_no_swap_is_quiet() -> None:
    assert severities("memory.swap_heavy", {"memory": mem(swap_used=int(1.9 * GIB), available=GIB)}) == [CRITICAL]
    assert run("memory.swap_heavy", {"memory": mem(swap_total=0, swap_used=0)}, swap_used_percent=0.0) == []


# -- cpu.high_load


def test_high_load() -> None:
    assert run("cpu.high_load", {"cpu": cpu(load_5=15.0)}) == []  # 1.9 per core on 8 cores
    assert severities("cpu.high_load", {"cpu": cpu(load_5=20.0)}) == [WARNING]  # 2.5
    assert severities("cpu.high_load", {"cpu": cpu(load_5=40.0)}) == [CRITICAL]  # 5.0: over twice the limit
    assert severities("cpu.high_load", {"cpu": cpu(load_5=15.0)}, load_per_core=1.5) == [WARNING]
    assert run("cpu.high_load", {"cpu": cpu(load_5=None)}, load_per_core=0.0) == []


def test_high_load_names_the_busiest_program_and_disk_waits() -> None:
    res = {"cpu": cpu(load_5=20.0, iowait_percent=45.0),
           "processes": procs(top_cpu=(proc(pid=5001, name="baloo_file", cpu_percent=88.0),))}
    (f,) = run("cpu.high_load", res)
    _check_wording(f)
    assert "2.5 per core" in f.detail
    assert "waiting is for the disk (45%" in f.detail
    assert "baloo_file (process 5001)" in f.detail
    assert "Close baloo_file" in f.next_step


# -- processes.runaway_cpu and processes.memory_hog


def test_runaway_cpu_staged() -> None:
    spinning = proc(pid=7777, name="teams", cpu_percent=99.5)
    res = {"processes": procs(top_cpu=(spinning, proc(pid=812, name="Xorg", cpu_percent=30.0)))}
    (f,) = run("processes.runaway_cpu", res)
    _check_wording(f)
    assert (f.severity, f.subject) == (WARNING, "teams (7777)")
    assert "teams (process 7777) kept a processor core 100% busy" in f.detail
    assert "started 2 March 2026 at 09:14" in f.detail
    assert "close it and open it again" in f.next_step
    assert run("processes.runaway_cpu", res, runaway_cpu_percent=100.0) == []
    assert [f.subject for f in run("processes.runaway_cpu", res, runaway_cpu_percent=25.0)] == [
        "teams (7777)", "Xorg (812)"]


def test_runaway_over_several_cores() -> None:
    res = {"processes": procs(top_cpu=(proc(pid=9, name="ffmpeg", cpu_percent=390.0),))}
    (f,) = run("processes.runaway_cpu", res)
    assert "kept about 4 processor cores busy (390% of one core)" in f.detail


def test_memory_hog() -> None:
    res = {"processes": procs(top_memory=(proc(pid=3120, name="java", memory_percent=62.0),))}
    (f,) = run("processes.memory_hog", res)
    _check_wording(f)
    assert (f.severity, f.subject) == (WARNING, "java (3120)")
    assert "62% of all memory" in f.detail
    assert run("processes.memory_hog", res, runaway_memory_percent=70.0) == []
    assert severities("processes.memory_hog", res, runaway_memory_percent=20.0) == [CRITICAL]  # past 60%
    assert severities("processes.memory_hog", {"processes": procs(
        top_memory=(proc(memory_percent=80.0),))}) == [CRITICAL]


# -- processes.zombies


def test_zombies_staged() -> None:
    left = tuple(ZombieInfo(9000 + i, "sh", 5120, "tmux: server") for i in range(7)) + (
        ZombieInfo(9100, "defunct", 1, "systemd"),)
    res = {"processes": procs(zombie_list=left)}
    (f,) = run("processes.zombies", res)
    _check_wording(f)
    assert f.severity == WARNING
    assert "8 finished programs" in f.detail
    assert "7 of those listed were left by tmux: server (process 5120)" in f.detail
    assert "Close and reopen tmux: server" in f.next_step
    assert run("processes.zombies", res, zombies=8) == []
    assert run("processes.zombies", {"processes": procs(zombie_list=left[:3])}) == []


def test_zombies_counted_beyond_the_list() -> None:
    res = {"processes": procs(zombie_list=(), zombies=40)}
    (f,) = run("processes.zombies", res)
    assert "40 finished programs" in f.detail


# -- power


def test_battery_health() -> None:
    worn = {"power": pwr(batteries=(battery(health_percent=52.0, full_wh=29.6, cycle_count=870),))}
    (f,) = run("power.battery_health", worn)
    _check_wording(f)
    assert (f.severity, f.subject) == (WARNING, "BAT0")
    assert "52%" in f.detail
    assert "29.6 Wh of 57 Wh" in f.detail
    assert "870 charge cycles" in f.detail
    assert run("power.battery_health", worn, battery_health_percent=50.0) == []
    assert severities("power.battery_health", worn, battery_health_percent=110.0) == [CRITICAL]
    unknown = {"power": pwr(batteries=(battery(health_percent=None),))}
    assert run("power.battery_health", unknown, battery_health_percent=100.0) == []


@pytest.mark.parametrize(
    ("percent", "ac", "expected"),
    [(12.0, False, [WARNING]), (6.0, False, [CRITICAL]), (12.0, True, []), (40.0, False, [])],
)
def test_battery_low(percent: float, ac: bool, expected: list[str]) -> None:
    res = {"power": pwr(percent=percent, ac_connected=ac, seconds_left=1500 if not ac else None)}
    assert severities("power.battery_low", res) == expected


def test_battery_low_wording_and_threshold() -> None:
    res = {"power": pwr(percent=12.0, seconds_left=1500)}
    (f,) = run("power.battery_low", res)
    _check_wording(f)
    assert "12%, about 25 minutes left" in f.detail
    assert "charger" in f.next_step
    assert run("power.battery_low", res, battery_low_percent=10.0) == []


def test_no_battery_is_quiet() -> None:
    res = {"power": PowerResult(None, False, None, None, "", ())}
    assert run("power.battery_low", res, battery_low_percent=100.0) == []
    assert run("power.battery_health", res, battery_health_percent=100.0) == []


# -- sensors.overheating


@pytest.mark.parametrize(
    ("reading", "expected"),
    [
        (temp(80.0), []),
        (temp(96.0), [WARNING]),  # within 5 °C of the high mark 100
        (temp(100.0), [CRITICAL]),  # at the critical mark
        (temp(80.0, high=82.0, critical=None), [WARNING]),
        (temp(92.0, high=None, critical=None, chip="it8728", label="temp3"), [WARNING]),  # no marks: above 90
        (temp(92.0, high=None, critical=128.0, chip="acpitz", label=""), [WARNING]),
        (temp(89.0, high=None, critical=None, chip="it8728", label="temp3"), []),
        (temp(127.0, high=None, critical=None, chip="it8728", label="temp3"), []),  # an unconnected sensor
    ],
)
def test_overheating(reading: Temperature, expected: list[str]) -> None:
    assert severities("sensors.overheating", {"sensors": sens(reading)}) == expected


def test_overheating_margin_changes_the_outcome() -> None:
    res = {"sensors": sens(temp(92.0))}
    assert run("sensors.overheating", res) == []
    assert severities("sensors.overheating", res, temperature_margin_celsius=10.0) == [WARNING]


def test_overheating_one_finding_per_chip_and_wording() -> None:
    res = {"sensors": sens(temp(97.0), temp(101.0, label="Core 3"), temp(99.0, label="Core 1"),
                           temp(83.0, 84.85, 84.85, "nvme", "Composite"), fans=(Fan("thinkpad", "", 0),))}
    found = run("sensors.overheating", res)
    assert [(f.subject, f.severity) for f in found] == [("coretemp", CRITICAL), ("nvme", WARNING)]
    cpu_f, ssd_f = found
    for f in found:
        _check_wording(f)
    assert cpu_f.title == "The processor is overheating"
    assert "(coretemp, Core 3) is 101 °C; its high and critical marks are both 100 °C." in cpu_f.detail
    assert "standing still" in cpu_f.detail
    assert ssd_f.title == "The SSD is running very hot"
    assert "its high and critical marks are both 85 °C" in ssd_f.detail
    no_marks = run("sensors.overheating", {"sensors": sens(temp(93.0, None, 128.0, "acpitz", ""))})
    assert "is 93 °C, above 90 °C; its critical mark is 128 °C." in no_marks[0].detail
    assert no_marks[0].title == "The mainboard is running very hot"


# -- real staged conditions


@linux_only
def test_real_runaway_process_is_named(burner: subprocess.Popen[bytes]) -> None:  # noqa: F811
    r = processes.collect(ProbeContext({"processes.sample_seconds": 0.5, "processes.top": 50}))
    measured = next(p.cpu_percent for p in r.top_cpu if p.pid == burner.pid)
    found = run("processes.runaway_cpu", {"processes": r}, runaway_cpu_percent=measured - 10)
    named = [f for f in found if f.evidence["pid"] == burner.pid]
    assert len(named) == 1
    assert named[0].subject == f"{psutil.Process(burner.pid).name()} ({burner.pid})"
    assert str(burner.pid) in named[0].detail
    # with the limit above what it used, the burner is not called out
    assert burner.pid not in [f.evidence["pid"] for f in
                              run("processes.runaway_cpu", {"processes": r}, runaway_cpu_percent=measured + 1)]


@linux_only
def test_real_zombie_is_reported(zombie: subprocess.Popen[bytes]) -> None:  # noqa: F811
    r = processes.collect(ProbeContext({"processes.sample_seconds": 0.05}))
    (f,) = run("processes.zombies", {"processes": r}, zombies=0)
    assert f.evidence["zombies"] == r.zombies >= 1
    if r.zombies == 1:  # only ours: the culprit named must be this test process
        assert f.evidence["parent_pid"] == os.getpid()
        assert psutil.Process().name() in f.detail
    assert run("processes.zombies", {"processes": r}, zombies=r.zombies) == []


@linux_only
def test_real_memory_result_and_threshold() -> None:
    r = memory.collect(ProbeContext())
    available = 100 * r.available_bytes / r.total_bytes
    assert run("memory.pressure", {"memory": r}, memory_available_percent=max(0.0, available - 5)) == []
    (f,) = run("memory.pressure", {"memory": r}, memory_available_percent=min(100.0, available + 5))
    assert f.evidence["available_bytes"] == r.available_bytes


def test_findings_survive_the_real_thresholds_schema() -> None:
    """Every threshold a rule reads exists in the settings schema (no KeyError on real settings)."""
    worst = {
        "memory": mem(available=GIB // 2, swap_used=2 * GIB - 1, psi_some_avg60=80.0, psi_full_avg60=50.0),
        "cpu": cpu(load_5=100.0),
        "processes": procs(top_cpu=(proc(cpu_percent=400.0),), top_memory=(proc(memory_percent=90.0),),
                           zombies=50),
        "power": pwr(percent=3.0, batteries=(battery(health_percent=20.0),)),
        "sensors": sens(temp(105.0)),
    }
    found = findings.evaluate(worst, DEFAULTS)
    assert {f.id for f in found} >= set(RULES)
    assert all(dataclasses.is_dataclass(f) for f in found)
