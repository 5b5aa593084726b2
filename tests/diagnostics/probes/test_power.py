"""The power probe: recorded /sys/class/power_supply trees built in tmp_path, and this machine (no battery)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import NamedTuple

import psutil
import pytest

from desktop.diagnostics.base import ProbeContext, Unsupported
from desktop.diagnostics.probes import power

# Recorded from a ThinkPad (energy in µWh, power in µW), as the kernel's sysfs shows them.
THINKPAD_BAT0 = {
    "type": "Battery",
    "status": "Discharging",
    "present": "1",
    "technology": "Li-poly",
    "cycle_count": "412",
    "voltage_min_design": "15440000",
    "voltage_now": "15871000",
    "power_now": "8123000",
    "energy_full_design": "57000000",
    "energy_full": "41250000",
    "energy_now": "10731000",
    "capacity": "26",
    "capacity_level": "Normal",
    "model_name": "5B10W13930",
    "manufacturer": "SMP",
    "serial_number": "  815",
    "scope": "System",
}
AC_ONLINE = {"type": "Mains", "online": "1"}
AC_OFFLINE = {"type": "Mains", "online": "0"}
# A Logitech mouse's battery: a peripheral, never the computer's battery.
MOUSE = {"type": "Battery", "scope": "Device", "status": "Discharging", "capacity": "5", "present": "1",
         "model_name": "MX Master 3", "manufacturer": "Logitech"}
# An ASUS battery reporting charge (µAh) instead of energy, without cycle count.
ASUS_BAT1 = {
    "type": "Battery",
    "status": "Charging",
    "present": "1",
    "technology": "Li-ion",
    "voltage_min_design": "11400000",
    "current_now": "1800000",
    "charge_full_design": "4210000",
    "charge_full": "3890000",
    "charge_now": "2100000",
    "capacity": "53",
    "model_name": "ASUS Battery",
    "manufacturer": "ASUSTeK",
}


class sbattery(NamedTuple):  # noqa: N801 - the shape of psutil's own sbattery
    percent: float
    secsleft: int
    power_plugged: bool | None


def make_tree(root: Path, supplies: dict[str, dict[str, str]]) -> Path:
    for name, files in supplies.items():
        (root / name).mkdir(parents=True)
        for key, value in files.items():
            (root / name / key).write_text(value + "\n")
    root.mkdir(parents=True, exist_ok=True)
    return root


def test_thinkpad_on_battery(tmp_path: Path) -> None:
    r = power.read_power_supply(make_tree(tmp_path / "ps", {"AC": AC_OFFLINE, "BAT0": THINKPAD_BAT0}))
    assert r.battery_present is True
    assert r.ac_connected is False
    assert r.status == "discharging"
    assert r.percent == pytest.approx(100 * 10731000 / 41250000, abs=0.05)
    assert r.seconds_left == int(10731000 / 8123000 * 3600)
    (bat,) = r.batteries
    assert bat.name == "BAT0"
    assert bat.health_percent == pytest.approx(72.4, abs=0.05)
    assert bat.full_wh == 41.25
    assert bat.design_wh == 57.0
    assert bat.cycle_count == 412
    assert (bat.manufacturer, bat.model, bat.technology) == ("SMP", "5B10W13930", "Li-poly")


def test_charger_plugged_in_means_no_time_left(tmp_path: Path) -> None:
    charging = dict(THINKPAD_BAT0, status="Charging")
    r = power.read_power_supply(make_tree(tmp_path / "ps", {"AC": AC_ONLINE, "BAT0": charging}))
    assert r.ac_connected is True
    assert r.status == "charging"
    assert r.seconds_left is None


def test_charge_based_battery_and_adapter_inferred_from_status(tmp_path: Path) -> None:
    r = power.read_power_supply(make_tree(tmp_path / "ps", {"BAT1": ASUS_BAT1}))
    assert r.ac_connected is True  # no adapter entry: "Charging" says the charger is in
    (bat,) = r.batteries
    assert bat.health_percent == pytest.approx(92.4, abs=0.05)
    assert bat.full_wh == pytest.approx(3890000 * 11400000 / 1e12, abs=0.01)
    assert bat.design_wh == pytest.approx(48.0, abs=0.01)
    assert bat.cycle_count is None
    assert bat.percent == pytest.approx(54.0, abs=0.05)


def test_peripheral_battery_is_not_the_computers(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "ps", {"AC": AC_ONLINE, "hidpp_battery_0": MOUSE})
    r = power.read_power_supply(tree)
    assert r.battery_present is False
    assert r.batteries == ()
    assert r.percent is None
    assert r.status == ""
    assert r.ac_connected is True  # a desktop on mains


def test_two_batteries_drain_together(tmp_path: Path) -> None:
    bat1 = dict(THINKPAD_BAT0, energy_now="20000000", energy_full="20000000", power_now="0", status="Unknown")
    r = power.read_power_supply(make_tree(tmp_path / "ps", {"AC": AC_OFFLINE, "BAT0": THINKPAD_BAT0, "BAT1": bat1}))
    assert len(r.batteries) == 2
    assert r.status == "discharging"
    assert r.percent == pytest.approx(100 * (10731000 + 20000000) / (41250000 + 20000000), abs=0.05)
    assert r.seconds_left == int((10731000 + 20000000) / 8123000 * 3600)


def test_empty_bay_and_unreadable_values(tmp_path: Path) -> None:
    empty_bay = {"type": "Battery", "present": "0"}
    odd = dict(THINKPAD_BAT0, energy_full_design="0", cycle_count="n/a", power_now="0")
    r = power.read_power_supply(make_tree(tmp_path / "ps", {"BAT0": odd, "BAT1": empty_bay}))
    (bat,) = r.batteries
    assert bat.health_percent is None  # a design capacity of 0 says nothing
    assert bat.cycle_count is None
    assert r.seconds_left is None  # no draw reported and no firmware estimate


def test_firmware_time_estimate_when_draw_is_unknown(tmp_path: Path) -> None:
    bat = {k: v for k, v in THINKPAD_BAT0.items() if k != "power_now"} | {"time_to_empty_now": "5400"}
    r = power.read_power_supply(make_tree(tmp_path / "ps", {"BAT0": bat}))
    assert r.seconds_left == 5400


def test_no_power_supply_class_at_all(tmp_path: Path) -> None:
    r = power.read_power_supply(tmp_path / "missing")
    assert r == power.PowerResult(None, False, None, None, "", ())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /sys")
def test_this_machine_agrees_with_psutil() -> None:
    start = time.perf_counter()
    r = power.collect(ProbeContext())
    elapsed = time.perf_counter() - start
    assert isinstance(r, power.PowerResult)
    assert elapsed < 0.05
    theirs = psutil.sensors_battery()
    if theirs is None:  # this container: no battery, and that is a result, not a failure
        assert r.battery_present is False
        assert r.percent is None
    else:
        assert r.battery_present is True
        assert r.percent is not None
        assert abs(r.percent - theirs.percent) <= 1.0
        if theirs.power_plugged is not None:
            assert r.ac_connected == theirs.power_plugged


def test_psutil_path_without_battery(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(psutil, "sensors_battery", lambda: None)
    r = power.collect(ProbeContext(platform="windows"))
    assert r.battery_present is False
    assert r.ac_connected is None


def test_psutil_path_on_battery(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(psutil, "sensors_battery", lambda: sbattery(12, 1800, False))
    r = power.collect(ProbeContext(platform="macos"))
    assert (r.battery_present, r.ac_connected, r.percent, r.seconds_left, r.status) == (
        True, False, 12.0, 1800, "discharging")
    monkeypatch.setattr(psutil, "sensors_battery", lambda: sbattery(100, psutil.POWER_TIME_UNLIMITED, True))
    r = power.collect(ProbeContext(platform="windows"))
    assert (r.ac_connected, r.seconds_left, r.status) == (True, None, "full")


def test_unknown_platform_is_unsupported() -> None:
    with pytest.raises(Unsupported, match="not supported on plan9"):
        power.collect(ProbeContext(platform="plan9"))
