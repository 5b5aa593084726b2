"""Power: mains or battery, the charge left, and how worn the battery is.

On Linux everything comes from ``/sys/class/power_supply``: the charge and time left (the way psutil
computes them) and what psutil does not give, the battery's wear (full capacity against its design
capacity), cycle count and maker. Reading sysfs directly also keeps peripheral batteries (a wireless
mouse reports ``scope=Device``) from passing for the computer's own battery, which psutil does not
tell apart. Elsewhere ``psutil.sensors_battery()`` gives the portable part. A machine without a battery
is a normal answer (``battery_present`` false), not a failure.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import psutil

from desktop.diagnostics.base import LINUX, MACOS, WINDOWS, ProbeContext, Unsupported, field

NAME = "power"
TITLE = "Power"

POWER_SUPPLY = Path("/sys/class/power_supply")
#: At most this many batteries are described (laptops have one or two).
BATTERIES_MAX = 4


@dataclass(frozen=True)
class BatteryInfo:
    name: str = field(doc="The battery's name in the OS (BAT0)")
    status: str = field(doc="charging, discharging, full, not charging or unknown, as the firmware says")
    percent: float | None = field(unit="%", doc="Charge left (None when not reported)")
    health_percent: float | None = field(
        unit="%",
        doc="Capacity when fully charged as a share of the design capacity: how much the battery has worn "
        "(new batteries may read a little over 100; None when the firmware gives no design figure)",
    )
    full_wh: float | None = field(unit="Wh", doc="Energy the battery holds when full today (None when unknown)")
    design_wh: float | None = field(unit="Wh", doc="Energy it held when new, by design (None when unknown)")
    cycle_count: int | None = field(
        unit="cycles", doc="Charge cycles the battery has been through (None when absent; some firmware says 0)"
    )
    manufacturer: str = field(doc="Maker of the battery ('' when not reported)")
    model: str = field(doc="Battery model name ('' when not reported)")
    technology: str = field(doc="Chemistry (Li-ion, Li-poly, ...; '' when not reported)")


@dataclass(frozen=True)
class PowerResult:
    ac_connected: bool | None = field(
        doc="Whether mains power (a charger) is connected (None when the OS does not say)"
    )
    battery_present: bool = field(doc="Whether the computer has a battery of its own (peripherals' batteries aside)")
    percent: float | None = field(unit="%", doc="Charge left over all batteries (None without a battery)")
    seconds_left: int | None = field(
        unit="s",
        doc="Estimated time on battery before it runs out (None when charging, on mains, or not estimable)",
    )
    status: str = field(doc="charging, discharging, full, not charging or unknown; '' without a battery")
    batteries: tuple[BatteryInfo, ...] = field(
        doc=f"Each battery with its wear and maker, at most {BATTERIES_MAX} (Linux; empty elsewhere)"
    )


RESULT = PowerResult


def _text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:  # absent, or the driver refuses to answer (ENODATA, EIO on some firmware)
        return None


def _number(path: Path) -> int | None:
    text = _text(path)
    try:
        return int(text) if text else None
    except ValueError:
        return None


def _first(directory: Path, *names: str) -> int | None:
    for name in names:
        value = _number(directory / name)
        if value is not None:
            return value
    return None


def _wh(directory: Path, energy: str, charge: str) -> float | None:
    """An energy figure in Wh, from ``energy_*`` (µWh) or from ``charge_*`` (µAh) times the design voltage."""
    value = _number(directory / energy)
    if value is not None:
        return round(value / 1e6, 2)
    value = _number(directory / charge)
    volts = _first(directory, "voltage_min_design", "voltage_max_design")
    if value is not None and volts:
        return round(value * volts / 1e12, 2)
    return None


def _is_battery(directory: Path) -> bool:
    kind = _text(directory / "type")
    if kind is not None:
        return kind == "Battery"
    return directory.name.startswith("BAT") or "battery" in directory.name.lower()


def _battery(directory: Path) -> BatteryInfo:
    full = _first(directory, "energy_full", "charge_full")
    design = _first(directory, "energy_full_design", "charge_full_design")
    now = _first(directory, "energy_now", "charge_now")
    if now is not None and full:
        percent: float | None = round(min(100.0, 100.0 * now / full), 1)
    else:
        capacity = _number(directory / "capacity")
        percent = float(capacity) if capacity is not None else None
    return BatteryInfo(
        name=directory.name,
        status=(_text(directory / "status") or "unknown").lower(),
        percent=percent,
        health_percent=round(100.0 * full / design, 1) if full is not None and design else None,
        full_wh=_wh(directory, "energy_full", "charge_full"),
        design_wh=_wh(directory, "energy_full_design", "charge_full_design"),
        cycle_count=_number(directory / "cycle_count"),
        manufacturer=_text(directory / "manufacturer") or "",
        model=_text(directory / "model_name") or "",
        technology=_text(directory / "technology") or "",
    )


def _seconds_left(batteries: list[Path]) -> int | None:
    """Time to empty while discharging: energy (or charge) left over the draw, as psutil computes it;
    the firmware's own estimate when the draw is not reported. Several batteries drain together."""
    discharging = [b for b in batteries if (_text(b / "status") or "").lower() == "discharging"]
    if not discharging:
        return None
    left = [_first(b, "energy_now", "charge_now") for b in batteries]
    draw = [_first(b, "power_now", "current_now") for b in discharging]
    total_draw = sum(abs(d) for d in draw if d)
    if total_draw and all(n is not None for n in left):
        return int(sum(n for n in left if n is not None) / total_draw * 3600)
    estimates = [_number(b / "time_to_empty_now") for b in discharging]
    if len(discharging) == 1 and estimates[0]:
        return estimates[0]
    return None


def read_power_supply(root: Path = POWER_SUPPLY) -> PowerResult:
    """The power state from a ``/sys/class/power_supply`` tree at ``root``."""
    try:
        entries = sorted(p for p in root.iterdir() if p.is_dir())
    except OSError:  # no power_supply class at all (containers, some VMs): nothing to report
        entries = []
    batteries: list[BatteryInfo] = []
    battery_dirs: list[Path] = []
    energy_now = energy_full = 0
    adapters: list[bool] = []
    for entry in entries:
        if _text(entry / "scope") == "Device":  # a mouse's or a headset's battery: not the computer's
            continue
        if _is_battery(entry):
            if _number(entry / "present") == 0:  # an empty second battery bay
                continue
            batteries.append(_battery(entry))
            battery_dirs.append(entry)
            now, full = _first(entry, "energy_now", "charge_now"), _first(entry, "energy_full", "charge_full")
            if now is not None and full:
                energy_now += now
                energy_full += full
        else:
            online = _number(entry / "online")
            if online is not None:  # Mains, or a USB-C charger (type USB) that says whether it feeds us
                adapters.append(online == 1)
    statuses = [b.status for b in batteries]
    ac: bool | None = any(adapters) if adapters else None
    if ac is None and batteries:
        if "discharging" in statuses:
            ac = False
        elif any(s in ("charging", "full") for s in statuses):
            ac = True
    if energy_full:
        percent: float | None = round(min(100.0, 100.0 * energy_now / energy_full), 1)
    else:
        known = [b.percent for b in batteries if b.percent is not None]
        percent = round(sum(known) / len(known), 1) if known else None
    return PowerResult(
        ac_connected=ac,
        battery_present=bool(batteries),
        percent=percent,
        seconds_left=_seconds_left(battery_dirs) if ac is not True else None,
        status=_overall_status(statuses),
        batteries=tuple(batteries[:BATTERIES_MAX]),
    )


def _overall_status(statuses: list[str]) -> str:
    if not statuses:
        return ""
    for status in ("discharging", "charging"):
        if status in statuses:
            return status
    if all(s == "full" for s in statuses):
        return "full"
    return statuses[0]


def _from_psutil() -> PowerResult:
    battery = psutil.sensors_battery() if hasattr(psutil, "sensors_battery") else None
    if battery is None:
        return PowerResult(ac_connected=None, battery_present=False, percent=None, seconds_left=None, status="",
                           batteries=())
    plugged = battery.power_plugged
    secs = battery.secsleft
    known = isinstance(secs, int | float) and secs >= 0 and plugged is not True
    if plugged is None:
        status = "unknown"
    elif plugged:
        status = "full" if battery.percent >= 100 else "charging"
    else:
        status = "discharging"
    return PowerResult(
        ac_connected=plugged,
        battery_present=True,
        percent=round(float(battery.percent), 1),
        seconds_left=int(secs) if known else None,  # POWER_TIME_UNKNOWN / UNLIMITED are negative
        status=status,
        batteries=(),
    )


def collect(ctx: ProbeContext) -> PowerResult:
    if ctx.platform == LINUX:
        return read_power_supply()
    if ctx.platform in (WINDOWS, MACOS):
        return _from_psutil()
    raise Unsupported(f"power is not supported on {ctx.platform}")
