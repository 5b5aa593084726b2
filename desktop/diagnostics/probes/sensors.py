"""Temperatures and fans: each hardware sensor with its reading and the marks its chip declares.

On Linux the probe reads ``/sys/class/hwmon`` itself, the way psutil's ``sensors_temperatures()`` and
``sensors_fans()`` do (same files, same skips, same fallback to ``/sys/class/thermal`` when hwmon has no
temperatures), but from a root it is given, so it can be tested on a recorded tree and costs one
directory listing per chip instead of globbing. Elsewhere psutil answers where it can (FreeBSD);
Windows and macOS give no sensors through psutil.

Caveat: reading a discrete GPU's sensor may wake the GPU from its power-saving state; that is true of
every tool that reads hwmon, psutil and lm-sensors included.
Machines without sensors (virtual machines, containers) give an empty result, which is valid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import psutil

from desktop.diagnostics.base import LINUX, ProbeContext, Unsupported, field

NAME = "sensors"
TITLE = "Temperatures and fans"

SYS_CLASS = Path("/sys/class")
#: At most this many temperatures and fans are kept (big servers list hundreds; desktops a dozen).
TEMPERATURES_MAX = 64
FANS_MAX = 16


@dataclass(frozen=True)
class Temperature:
    chip: str = field(doc="The sensor chip's driver name (coretemp, k10temp, nvme, amdgpu, acpitz, ...)")
    label: str = field(doc="What the chip calls this sensor (Package id 0, Composite, edge; '' when unnamed)")
    current_celsius: float = field(unit="°C", doc="Temperature now")
    high_celsius: float | None = field(
        unit="°C",
        doc="The chip's high mark, where it starts to worry (None when the chip declares none or marks it "
        "unset; unlike psutil, a missing mark is not copied from the other one)",
    )
    critical_celsius: float | None = field(
        unit="°C", doc="The chip's critical mark, where hardware may throttle hard or shut down (None: none)"
    )


@dataclass(frozen=True)
class Fan:
    chip: str = field(doc="The chip that reports the fan (thinkpad, nct6775, dell_smm, ...)")
    label: str = field(doc="The fan's name on that chip ('' when unnamed)")
    rpm: int = field(unit="rpm", doc="Fan speed now (0: stopped, which is normal when cool on many laptops)")


@dataclass(frozen=True)
class SensorsResult:
    temperatures: tuple[Temperature, ...] = field(
        doc=f"Every temperature sensor, chip by chip in the OS's order; at most {TEMPERATURES_MAX}"
    )
    fans: tuple[Fan, ...] = field(doc=f"Every fan that reports its speed; at most {FANS_MAX}")
    temperatures_total: int = field(unit="sensors", doc="Temperature sensors found, including any beyond the cap")
    source: str = field(
        doc="Where the readings came from: hwmon, thermal_zone (Linux fallback), psutil, or '' when none were found"
    )


RESULT = SensorsResult

_TEMP = re.compile(r"temp(\d+)_input")
_FAN = re.compile(r"fan(\d+)_input")
_NUMBER = re.compile(r"(\d+)$")


def _text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:  # absent, or the driver answers EIO/ENODATA (a sensor that is off)
        return None


def _millidegrees(path: Path) -> float | None:
    text = _text(path)
    try:
        return float(text) / 1000.0 if text else None
    except ValueError:
        return None


def _mark(path: Path) -> float | None:
    """A high or critical mark; the kernel's "not set" markers become None.

    Drivers write -273150 (0 K) for an unset limit, and NVMe drives 65261850 (0xFFFF K); psutil passes
    both on as real limits (psutil issue 2959), which would make every reading look alarming or safe.
    """
    value = _millidegrees(path)
    if value is None or value <= -273.0 or value >= 65000.0:
        return None
    return value


def _numbered(paths: list[Path]) -> list[Path]:
    """Directories in natural order (hwmon2 before hwmon10)."""

    def key(p: Path) -> tuple[int, str]:
        m = _NUMBER.search(p.name)
        return (int(m.group(1)) if m else -1, p.name)

    return sorted(paths, key=key)


def _chips(hwmon: Path) -> list[Path]:
    try:
        return _numbered([p for p in hwmon.iterdir() if p.name.startswith("hwmon")])
    except OSError:  # no hwmon class: a VM or a container
        return []


def _listdir(directory: Path) -> list[str]:
    try:
        return [p.name for p in directory.iterdir()]
    except OSError:
        return []


def _inputs(directory: Path, pattern: re.Pattern[str]) -> list[tuple[int, Path]]:
    """The ``<kind><n>_input`` files of a directory, in sensor-number order."""
    return sorted((int(m.group(1)), directory / m.group(0)) for n in _listdir(directory) if (m := pattern.fullmatch(n)))


def _chip_name(directory: Path, chip_dir: Path) -> str | None:
    # the name sits beside the sensors; old kernels put both in device/, and then some only the outer name
    return _text(directory / "name") or (_text(chip_dir / "name") if directory != chip_dir else None)


def read_hwmon(hwmon: Path) -> tuple[list[Temperature], list[Fan]]:
    """Temperatures and fans from a ``/sys/class/hwmon`` tree.

    As psutil: a sensor whose chip has no ``name`` file, or whose ``_input`` cannot be read, is
    skipped; sensors may also sit in the chip's ``device/`` subdirectory (older kernels, some drivers);
    fans are looked for there only when no chip has any directly.
    """
    temps: list[Temperature] = []
    fans: list[Fan] = []
    chips = _chips(hwmon)
    for chip_dir in chips:
        for directory in (chip_dir, chip_dir / "device"):
            inputs = _inputs(directory, _TEMP)
            chip = _chip_name(directory, chip_dir) if inputs else None
            if chip is None:
                continue
            for number, path in inputs:
                current = _millidegrees(path)
                if current is None:
                    continue
                base = f"{directory / f'temp{number}'}"
                temps.append(Temperature(
                    chip=chip,
                    label=_text(Path(f"{base}_label")) or "",
                    current_celsius=current,
                    high_celsius=_mark(Path(f"{base}_max")),
                    critical_celsius=_mark(Path(f"{base}_crit")),
                ))
    fan_dirs = [d for d in chips if _inputs(d, _FAN)] or [d / "device" for d in chips]
    for directory in fan_dirs:
        inputs = _inputs(directory, _FAN)
        chip_dir = directory if directory.name.startswith("hwmon") else directory.parent
        chip = _chip_name(directory, chip_dir) if inputs else None
        if chip is None:
            continue
        for number, path in inputs:
            text = _text(path)
            if text is None or not text.isdigit():
                continue
            fans.append(Fan(chip=chip, label=_text(directory / f"fan{number}_label") or "", rpm=int(text)))
    return temps, fans


def read_thermal_zones(thermal: Path) -> list[Temperature]:
    """Temperatures from ``/sys/class/thermal/thermal_zone*`` (psutil's fallback when hwmon has none).

    The zone's ``type`` is the chip; its ``high`` and ``critical`` trip points are the marks. (psutil
    7.2 divides a mark by 1000 again for every later trip point, so its marks here can be off by
    powers of 1000: psutil issue 2439; this reader does not share that bug.)
    """
    try:
        zones = _numbered([p for p in thermal.iterdir() if p.name.startswith("thermal_zone")])
    except OSError:
        return []
    out: list[Temperature] = []
    for zone in zones:
        current = _millidegrees(zone / "temp")
        chip = _text(zone / "type")
        if current is None or chip is None:
            continue
        marks: dict[str, float] = {}
        for name in _listdir(zone):
            m = re.fullmatch(r"trip_point_(\d+)_type", name)
            if not m:
                continue
            kind = _text(zone / name)
            value = _mark(zone / f"trip_point_{m.group(1)}_temp")
            if kind in ("high", "critical") and value is not None:
                marks[kind] = value
        out.append(Temperature(chip, "", current, marks.get("high"), marks.get("critical")))
    return out


def read_linux(sys_class: Path = SYS_CLASS) -> SensorsResult:
    """The sensors under a ``/sys/class`` tree at ``sys_class``."""
    temps, fans = read_hwmon(sys_class / "hwmon")
    source = "hwmon" if temps or fans else ""
    if not temps:
        temps = read_thermal_zones(sys_class / "thermal")
        if temps:
            source = source or "thermal_zone"
    return SensorsResult(tuple(temps[:TEMPERATURES_MAX]), tuple(fans[:FANS_MAX]), len(temps), source)


def _from_psutil(platform: str) -> SensorsResult:
    temps_fn = getattr(psutil, "sensors_temperatures", None)
    fans_fn = getattr(psutil, "sensors_fans", None)
    if temps_fn is None and fans_fn is None:
        raise Unsupported(f"temperature sensors are not supported on {platform}")
    temps = [
        Temperature(chip, t.label, float(t.current), t.high, t.critical)
        for chip, entries in (temps_fn() if temps_fn else {}).items()
        for t in entries
    ]
    fans = [Fan(chip, f.label, int(f.current)) for chip, entries in (fans_fn() if fans_fn else {}).items()
            for f in entries]
    return SensorsResult(tuple(temps[:TEMPERATURES_MAX]), tuple(fans[:FANS_MAX]), len(temps),
                         "psutil" if temps or fans else "")


def collect(ctx: ProbeContext) -> SensorsResult:
    if ctx.platform == LINUX:
        return read_linux()
    return _from_psutil(ctx.platform)
