"""Displays: the kind of graphical session and the monitors connected, where the platform tells cheaply.

Linux: the kernel's DRM connectors in ``/sys/class/drm`` (status, modes, the monitor's EDID), read
directly; no ``xrandr`` (slow, and needs an X server). That is what the graphics driver sees, not the
desktop's arrangement: scaling, rotation and which output is primary are the compositor's and are not
reported. Windows: the primary screen's size and the monitor count from ``GetSystemMetrics``. A machine
with no monitor (a server, a container, a VM without a virtual GPU) has an empty list of outputs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from desktop.diagnostics.base import LINUX, WINDOWS, ProbeContext, Unsupported, field

NAME = "displays"
TITLE = "Displays"

#: Where Linux lists its DRM devices and connectors (tests point it at a fake tree).
DRM_DIR = Path("/sys/class/drm")
#: At most this many connected outputs are listed.
MAX_OUTPUTS = 16
#: Connector types that are built-in panels (laptops, tablets) rather than sockets for a cable.
INTERNAL_CONNECTORS = ("eDP", "LVDS", "DSI")


@dataclass(frozen=True)
class Output:
    name: str = field(doc="Connector name (eDP-1, HDMI-A-1, DP-2); 'primary' on Windows")
    card: str = field(doc="Graphics device the connector belongs to (card0); '' where not known")
    driver: str = field(doc="Kernel driver of that graphics device (i915, amdgpu, nouveau, virtio_gpu); '' unknown")
    internal: bool = field(doc="Whether this is a built-in panel (eDP, LVDS, DSI) rather than an external socket")
    enabled: bool | None = field(doc="Whether the desktop drives the output (False: connected but switched off)")
    power: str = field(doc="Monitor power state (DPMS): On, Standby, Suspend, Off; '' when not reported")
    preferred_mode: str = field(
        doc="Preferred resolution WIDTHxHEIGHT (the monitor's native one, first in the kernel's list); on Windows "
        "the primary screen's current size, scaled by Windows' display scaling"
    )
    width: int | None = field(unit="px", doc="Width of preferred_mode")
    height: int | None = field(unit="px", doc="Height of preferred_mode")
    mode_count: int = field(unit="modes", doc="How many display modes the output offers (0 when not known)")
    monitor: str = field(doc="Monitor model name from its EDID ('' when it gives none, as many laptop panels do)")
    manufacturer: str = field(doc="Three-letter PNP vendor code from the EDID (DEL, SAM, AUO); '' when unknown")


@dataclass(frozen=True)
class DisplaysResult:
    session_type: str = field(
        doc="Kind of graphical session: x11, wayland or tty (Linux, from XDG_SESSION_TYPE, else guessed from "
        "WAYLAND_DISPLAY / DISPLAY); console or rdp (remote desktop) on Windows; '' when none is known"
    )
    desktop: str = field(doc="Desktop environment (XDG_CURRENT_DESKTOP: GNOME, KDE, XFCE); '' when not set")
    outputs: tuple[Output, ...] = field(
        doc=f"Connected outputs, built-in panels first, at most {MAX_OUTPUTS}; empty on a headless machine"
    )
    connector_count: int | None = field(
        unit="connectors", doc="All display connectors the graphics devices have, connected or not (None: unknown)"
    )
    monitor_count: int | None = field(
        unit="monitors", doc="Monitors connected (Linux) or in use by the desktop (Windows); None when unknown"
    )


RESULT = DisplaysResult


# -- EDID --------------------------------------------------------------------------------------------

_EDID_HEADER = bytes((0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00))


def edid_identity(edid: bytes) -> tuple[str, str]:
    """(manufacturer PNP code, monitor name) from an EDID blob; ('', '') when it is not a valid EDID."""
    if len(edid) < 128 or edid[:8] != _EDID_HEADER:
        return "", ""
    code = int.from_bytes(edid[8:10], "big")
    letters = [(code >> shift) & 0x1F for shift in (10, 5, 0)]
    manufacturer = "".join(chr(64 + n) for n in letters) if all(1 <= n <= 26 for n in letters) else ""
    name = ""
    for start in (54, 72, 90, 108):  # the four 18-byte descriptors of the base block
        block = edid[start : start + 18]
        if block[:3] == b"\0\0\0" and block[3] == 0xFC:  # display product name
            name = block[5:18].split(b"\n", 1)[0].decode("ascii", "replace").strip()
            break
    return manufacturer, name


# -- Linux DRM ---------------------------------------------------------------------------------------


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _parse_mode(mode: str) -> tuple[int | None, int | None]:
    """(width, height) of a kernel mode name such as ``1920x1080`` or ``1920x1080i`` (interlaced)."""
    width, _, rest = mode.partition("x")
    digits = rest[: len(rest) - len(rest.lstrip("0123456789"))]
    if width.isdigit() and digits:
        return int(width), int(digits)
    return None, None


def read_drm(drm_dir: Path = DRM_DIR) -> tuple[tuple[Output, ...], int | None]:
    """(connected outputs, number of connectors) from a /sys/class/drm tree; ((), None) when there is none."""
    try:
        entries = sorted(os.listdir(drm_dir))
    except OSError:
        return (), None
    outputs: list[Output] = []
    connectors = 0
    for entry in entries:
        card, dash, connector = entry.partition("-")
        if not dash or not card.startswith("card"):
            continue  # card0 itself, renderD128, version
        base = drm_dir / entry
        status = (_read(base / "status") or "").strip()
        if not status:
            continue
        connectors += 1
        if status != "connected" or len(outputs) >= MAX_OUTPUTS:
            continue
        enabled_text = (_read(base / "enabled") or "").strip()
        modes = [m.strip() for m in (_read(base / "modes") or "").splitlines() if m.strip()]
        preferred = modes[0] if modes else ""
        width, height = _parse_mode(preferred) if preferred else (None, None)
        try:
            edid = (base / "edid").read_bytes()
        except OSError:
            edid = b""
        manufacturer, monitor = edid_identity(edid)
        try:
            driver = os.path.basename(os.readlink(drm_dir / card / "device" / "driver"))
        except OSError:
            driver = ""
        outputs.append(
            Output(
                name=connector,
                card=card,
                driver=driver,
                internal=connector.startswith(INTERNAL_CONNECTORS),
                enabled={"enabled": True, "disabled": False}.get(enabled_text),
                power=(_read(base / "dpms") or "").strip(),
                preferred_mode=preferred,
                width=width,
                height=height,
                mode_count=len(dict.fromkeys(modes)),
                monitor=monitor,
                manufacturer=manufacturer,
            )
        )
    outputs.sort(key=lambda o: (not o.internal, o.card, o.name))
    return tuple(outputs), connectors


def session_type(environ: Mapping[str, str]) -> str:
    """The graphical session kind from the environment: XDG_SESSION_TYPE, else WAYLAND_DISPLAY / DISPLAY."""
    declared = environ.get("XDG_SESSION_TYPE", "").strip().lower()
    if declared and declared != "unspecified":
        return declared
    if environ.get("WAYLAND_DISPLAY"):
        return "wayland"
    if environ.get("DISPLAY"):
        return "x11"
    return ""


# -- Windows -----------------------------------------------------------------------------------------


def _collect_windows(ctx: ProbeContext) -> DisplaysResult:
    import ctypes

    windll = getattr(ctypes, "windll", None)
    if windll is None:
        raise Unsupported("the displays probe needs the Windows user32 API")
    metric = windll.user32.GetSystemMetrics
    sm_cxscreen, sm_cyscreen, sm_cmonitors, sm_remotesession = 0, 1, 80, 0x1000
    width, height, monitors = int(metric(sm_cxscreen)), int(metric(sm_cyscreen)), int(metric(sm_cmonitors))
    outputs: tuple[Output, ...] = ()
    if width > 0 and height > 0:
        outputs = (
            Output(
                name="primary", card="", driver="", internal=False, enabled=True, power="",
                preferred_mode=f"{width}x{height}", width=width, height=height, mode_count=0,
                monitor="", manufacturer="",
            ),
        )
    return DisplaysResult(
        session_type="rdp" if metric(sm_remotesession) else "console",
        desktop="",
        outputs=outputs,
        connector_count=None,
        monitor_count=monitors,
    )


def collect(ctx: ProbeContext) -> DisplaysResult:
    if ctx.platform == WINDOWS:
        return _collect_windows(ctx)
    if ctx.platform != LINUX:
        raise Unsupported(f"the displays probe is not supported on {ctx.platform}")
    outputs, connectors = read_drm(DRM_DIR)
    return DisplaysResult(
        session_type=session_type(ctx.environ),
        desktop=ctx.environ.get("XDG_CURRENT_DESKTOP", ""),
        outputs=outputs,
        connector_count=connectors,
        monitor_count=len(outputs) if connectors is not None else None,
    )
