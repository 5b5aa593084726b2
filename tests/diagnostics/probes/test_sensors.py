"""The sensors probe: a recorded laptop's /sys/class/hwmon built in a temporary tree, parity with psutil's
own reader on that same tree, and this machine (no hwmon: an empty, valid result)."""

from __future__ import annotations

import copy
import glob
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from desktop.diagnostics.base import ProbeContext, Unsupported
from desktop.diagnostics.probes import sensors
from desktop.diagnostics.probes.sensors import Fan, Temperature

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /sys")

# Recorded from a ThinkPad with an AMD GPU (values in millidegrees, as sysfs gives them).
HWMON: dict[str, dict[str, str]] = {
    "hwmon0": {"name": "acpitz", "temp1_input": "45000", "temp1_crit": "128000"},
    "hwmon1": {
        "name": "nvme",
        "temp1_input": "38850", "temp1_label": "Composite", "temp1_max": "84850", "temp1_min": "-273150",
        "temp1_crit": "84850", "temp1_alarm": "0",
        "temp2_input": "38850", "temp2_label": "Sensor 1", "temp2_max": "65261850", "temp2_min": "-273150",
    },
    "hwmon2": {
        "name": "coretemp",
        "temp1_input": "97000", "temp1_label": "Package id 0", "temp1_max": "100000", "temp1_crit": "100000",
        "temp1_crit_alarm": "0",
        "temp2_input": "61000", "temp2_label": "Core 0", "temp2_max": "100000", "temp2_crit": "100000",
        "temp10_input": "63000", "temp10_label": "Core 8", "temp10_max": "100000", "temp10_crit": "100000",
    },
    "hwmon3": {
        "name": "thinkpad",
        "fan1_input": "2448", "fan2_input": "0", "fan2_label": "GPU fan",
        "temp1_input": "47000", "temp2_input": "N/A",  # a sensor the firmware does not fill: skipped
    },
    "hwmon4": {"name": "amdgpu", "temp1_input": "52000", "temp1_label": "edge", "temp1_crit": "100000",
               "temp1_crit_hyst": "-273150", "fan1_input": "N/A"},
    "hwmon5": {"temp1_input": "30000"},  # a chip with no name: skipped, as psutil does
    "hwmon10": {"name": "iwlwifi_1", "temp1_input": "43000"},
}
# The same machine without the two quirks psutil 7.2 trips over: a fan reading "N/A" (sensors_fans()
# raises ValueError) and NVMe's "unset" limit 65261850 (passed on as 65261.85 °C, psutil issue 2959).
PARITY = copy.deepcopy(HWMON)
del PARITY["hwmon4"]["fan1_input"]
PARITY["hwmon1"]["temp2_max"] = "84850"
THERMAL: dict[str, dict[str, str]] = {
    "thermal_zone0": {"type": "acpitz", "temp": "52000", "trip_point_0_type": "critical",
                      "trip_point_0_temp": "119000", "trip_point_1_type": "passive", "trip_point_1_temp": "95000"},
    "thermal_zone1": {"type": "x86_pkg_temp", "temp": "71000", "trip_point_0_type": "high",
                      "trip_point_0_temp": "90000"},
    "cooling_device0": {"type": "Processor"},
}


def write(root: Path, tree: dict[str, dict[str, str]]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for directory, files in tree.items():
        (root / directory).mkdir(parents=True, exist_ok=True)
        for name, value in files.items():
            (root / directory / name).write_text(value + "\n")
    return root


@pytest.fixture
def sys_class() -> Iterator[Path]:
    """A fake /sys/class in a directory whose path has no '_' (psutil splits sensor paths on '_')."""
    base = Path(tempfile.gettempdir()) / f"deskline-sensors-{os.getpid()}-{time.monotonic_ns()}"
    if "_" in str(base):
        pytest.skip("the temporary directory's path holds '_', which psutil's reader cannot take")
    try:
        yield base / "sys" / "class"
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_recorded_laptop(sys_class: Path) -> None:
    write(sys_class / "hwmon", HWMON)
    r = sensors.read_linux(sys_class)
    assert r.source == "hwmon"
    assert r.temperatures[0] == Temperature("acpitz", "", 45.0, None, 128.0)
    assert [t.label for t in r.temperatures if t.chip == "coretemp"] == ["Package id 0", "Core 0", "Core 8"]
    package = next(t for t in r.temperatures if t.label == "Package id 0")
    assert (package.current_celsius, package.high_celsius, package.critical_celsius) == (97.0, 100.0, 100.0)
    composite = next(t for t in r.temperatures if t.label == "Composite")
    assert composite == Temperature("nvme", "Composite", 38.85, 84.85, 84.85)
    assert [t.chip for t in r.temperatures].count("thinkpad") == 1  # temp2 "N/A" skipped
    assert r.temperatures[-1].chip == "iwlwifi_1"  # hwmon10 after hwmon5, not after hwmon1
    assert "" not in {t.chip for t in r.temperatures}  # the nameless chip is skipped
    assert r.fans == (Fan("thinkpad", "", 2448), Fan("thinkpad", "GPU fan", 0))
    assert r.temperatures_total == len(r.temperatures) == 9
    sensor1 = next(t for t in r.temperatures if t.label == "Sensor 1")
    assert sensor1.high_celsius is None  # NVMe's 0xFFFF K means "no limit set"


def test_unset_marks_are_none(sys_class: Path) -> None:
    write(sys_class / "hwmon", {"hwmon0": {"name": "cros_ec", "temp1_input": "44000", "temp1_max": "-273150",
                                           "temp1_crit": "-273150"}})
    r = sensors.read_linux(sys_class)
    assert r.temperatures == (Temperature("cros_ec", "", 44.0, None, None),)


def test_old_kernel_device_subdirectory(sys_class: Path) -> None:
    write(sys_class / "hwmon", {"hwmon0/device": {"name": "it8728", "temp1_input": "41000", "temp1_max": "70000",
                                                  "fan1_input": "1150", "fan1_label": "CPU fan"}})
    r = sensors.read_linux(sys_class)
    assert r.temperatures == (Temperature("it8728", "", 41.0, 70.0, None),)
    assert r.fans == (Fan("it8728", "CPU fan", 1150),)


def test_thermal_zone_fallback(sys_class: Path) -> None:
    write(sys_class / "thermal", THERMAL)
    (sys_class / "hwmon").mkdir(parents=True)
    r = sensors.read_linux(sys_class)
    assert r.source == "thermal_zone"
    assert r.temperatures == (
        Temperature("acpitz", "", 52.0, None, 119.0),
        Temperature("x86_pkg_temp", "", 71.0, 90.0, None),
    )


def test_caps(sys_class: Path) -> None:
    many = {f"hwmon{i}": {"name": "drivetemp", "temp1_input": str(30000 + i)} for i in range(80)}
    write(sys_class / "hwmon", many)
    r = sensors.read_linux(sys_class)
    assert len(r.temperatures) == sensors.TEMPERATURES_MAX
    assert r.temperatures_total == 80


def test_nothing_at_all(tmp_path: Path) -> None:
    assert sensors.read_linux(tmp_path) == sensors.SensorsResult((), (), 0, "")


def _psutil_reading(sys_class: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, Any], dict[str, Any]]:
    """psutil's own Linux reader, pointed at the fake tree by rewriting the /sys paths it globs."""
    real_glob = glob.glob
    fake_sys = str(sys_class.parent)

    def fake_glob(pattern: str, *args: Any, **kwargs: Any) -> list[str]:
        if pattern.startswith("/sys/"):
            pattern = fake_sys + pattern[len("/sys"):]
        return real_glob(pattern)

    with monkeypatch.context() as m:
        m.setattr(glob, "glob", fake_glob)
        return psutil.sensors_temperatures(), psutil.sensors_fans()


def _as_psutil_reports(t: Temperature) -> tuple[str, str, float, float | None, float | None]:
    # psutil copies a missing mark from the other one; this probe reports what the chip declares
    return (t.chip, t.label, t.current_celsius, t.high_celsius or t.critical_celsius,
            t.critical_celsius or t.high_celsius)


@linux_only
def test_parity_with_psutil_on_the_recorded_tree(sys_class: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(sys_class / "hwmon", PARITY)
    ours = sensors.read_linux(sys_class)
    temps, fans = _psutil_reading(sys_class, monkeypatch)
    assert sorted(_as_psutil_reports(t) for t in ours.temperatures) == sorted(
        (chip, t.label, t.current, t.high, t.critical) for chip, ts in temps.items() for t in ts)
    assert sorted((f.chip, f.label, f.rpm) for f in ours.fans) == sorted(
        (chip, f.label, f.current) for chip, fs in fans.items() for f in fs)


@linux_only
def test_parity_with_psutil_on_the_thermal_fallback(sys_class: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # one mark per zone: with more, psutil 7.2 divides marks by 1000 again per trip point (issue 2439)
    single = copy.deepcopy(THERMAL)
    for key in ("trip_point_1_type", "trip_point_1_temp"):
        del single["thermal_zone0"][key]
    write(sys_class / "thermal", single)
    ours = sensors.read_linux(sys_class)
    temps, _ = _psutil_reading(sys_class, monkeypatch)
    assert sorted(_as_psutil_reports(t) for t in ours.temperatures) == sorted(
        (chip, t.label, t.current, t.high, t.critical) for chip, ts in temps.items() for t in ts)


@linux_only
def test_this_machine_agrees_with_psutil() -> None:
    start = time.perf_counter()
    r = sensors.collect(ProbeContext())
    elapsed = time.perf_counter() - start
    assert isinstance(r, sensors.SensorsResult)
    assert elapsed < 0.05
    theirs = psutil.sensors_temperatures()
    assert sorted((t.chip, t.label, t.current_celsius) for t in r.temperatures) == sorted(
        (chip, t.label, t.current) for chip, ts in theirs.items() for t in ts)[: sensors.TEMPERATURES_MAX]
    assert (r.source == "") == (not r.temperatures and not r.fans)


def test_platform_without_sensors_in_psutil(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(psutil, "sensors_temperatures", raising=False)
    monkeypatch.delattr(psutil, "sensors_fans", raising=False)
    with pytest.raises(Unsupported, match="not supported on windows"):
        sensors.collect(ProbeContext(platform="windows"))


def test_psutil_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    from psutil._ntuples import sfan, shwtemp

    monkeypatch.setattr(psutil, "sensors_temperatures", lambda: {"coretemp": [shwtemp("Core 0", 55.0, 80.0, 95.0)]},
                        raising=False)
    monkeypatch.setattr(psutil, "sensors_fans", lambda: {"asus": [sfan("cpu_fan", 1900)]}, raising=False)
    r = sensors.collect(ProbeContext(platform="freebsd"))
    assert r == sensors.SensorsResult((Temperature("coretemp", "Core 0", 55.0, 80.0, 95.0),),
                                      (Fan("asus", "cpu_fan", 1900),), 1, "psutil")
