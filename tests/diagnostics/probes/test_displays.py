"""The displays probe: a DRM sysfs tree built in tmp_path with recorded EDIDs, and this machine's real tree."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from desktop.diagnostics.base import ProbeContext, Unsupported, describe, to_jsonable
from desktop.diagnostics.probes import displays

FIXTURES = Path(__file__).parents[2] / "fixtures" / "displays"


def edid(name: str) -> bytes:
    text = (FIXTURES / name).read_text()
    return bytes.fromhex(" ".join(line for line in text.splitlines() if not line.startswith("#")))


def connector(
    drm: Path,
    name: str,
    status: str,
    enabled: str = "enabled",
    modes: str = "",
    edid_blob: bytes = b"",
    dpms: str = "On",
) -> None:
    d = drm / name
    d.mkdir(parents=True)
    (d / "status").write_text(status + "\n")
    (d / "enabled").write_text(enabled + "\n")
    (d / "modes").write_text(modes)
    (d / "edid").write_bytes(edid_blob)
    (d / "dpms").write_text(dpms + "\n")


def card(root: Path, name: str, driver: str) -> Path:
    """A DRM device directory whose device/driver links to ``driver``, as in sysfs."""
    drm = root / "class/drm"
    (root / "bus/pci/drivers" / driver).mkdir(parents=True, exist_ok=True)
    (drm / name / "device").mkdir(parents=True)
    os.symlink(root / "bus/pci/drivers" / driver, drm / name / "device" / "driver")
    return drm


def laptop_with_monitor(root: Path) -> Path:
    drm = card(root, "card0", "i915")
    panel = edid("edid-auo-laptop-panel.hex")
    connector(drm, "card0-eDP-1", "connected", modes="1920x1080\n1920x1080\n", edid_blob=panel)
    connector(
        drm, "card0-HDMI-A-1", "connected",
        modes="1920x1080\n1920x1080\n1920x1080i\n1280x720\n1024x768\n",
        edid_blob=edid("edid-dell-e2219hn.hex"),
    )
    connector(drm, "card0-DP-1", "disconnected", enabled="disabled", dpms="Off")
    connector(drm, "card0-DP-2", "disconnected", enabled="disabled", dpms="Off")
    (drm / "renderD128").mkdir()
    (drm / "version").write_text("drm 1.1.0 20060810\n")
    return drm


def test_edid_of_an_external_monitor() -> None:
    assert displays.edid_identity(edid("edid-dell-e2219hn.hex")) == ("DEL", "E2219HN")


def test_edid_of_a_laptop_panel_has_no_name() -> None:
    assert displays.edid_identity(edid("edid-auo-laptop-panel.hex")) == ("AUO", "")


@pytest.mark.parametrize("blob", [b"", b"\0" * 128, edid("edid-dell-e2219hn.hex")[:100]])
def test_edid_that_is_not_one(blob: bytes) -> None:
    assert displays.edid_identity(blob) == ("", "")


def test_laptop_with_an_external_monitor(tmp_path: Path) -> None:
    outputs, connectors = displays.read_drm(laptop_with_monitor(tmp_path))
    assert connectors == 4
    assert [o.name for o in outputs] == ["eDP-1", "HDMI-A-1"]
    panel, hdmi = outputs
    assert (panel.card, panel.driver, panel.internal, panel.enabled, panel.power) == ("card0", "i915", True, True, "On")
    assert (panel.preferred_mode, panel.width, panel.height, panel.mode_count) == ("1920x1080", 1920, 1080, 1)
    assert (panel.manufacturer, panel.monitor) == ("AUO", "")
    assert (hdmi.internal, hdmi.manufacturer, hdmi.monitor) == (False, "DEL", "E2219HN")
    assert hdmi.mode_count == 4  # duplicates (several refresh rates) counted once, interlaced apart


def test_connected_but_switched_off(tmp_path: Path) -> None:
    drm = card(tmp_path, "card1", "amdgpu")
    connector(drm, "card1-DP-3", "connected", enabled="disabled", modes="2560x1440\n", dpms="Off")
    (o,), _ = displays.read_drm(drm)
    assert (o.name, o.driver, o.enabled, o.power, o.width, o.height) == ("DP-3", "amdgpu", False, "Off", 2560, 1440)
    assert (o.monitor, o.manufacturer) == ("", "")  # no EDID read


def test_interlaced_first_mode() -> None:
    assert displays._parse_mode("1920x1080i") == (1920, 1080)
    assert displays._parse_mode("garbage") == (None, None)


def test_outputs_are_capped(tmp_path: Path) -> None:
    drm = tmp_path / "drm"
    for i in range(displays.MAX_OUTPUTS + 4):
        connector(drm, f"card0-DP-{i}", "connected", modes="800x600\n")
    outputs, connectors = displays.read_drm(drm)
    assert len(outputs) == displays.MAX_OUTPUTS
    assert connectors == displays.MAX_OUTPUTS + 4


def test_headless(tmp_path: Path) -> None:
    assert displays.read_drm(tmp_path / "missing") == ((), None)
    (tmp_path / "drm").mkdir()
    assert displays.read_drm(tmp_path / "drm") == ((), 0)


def test_collect_reads_the_tree_and_the_session(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(displays, "DRM_DIR", laptop_with_monitor(tmp_path))
    env = {"XDG_SESSION_TYPE": "wayland", "XDG_CURRENT_DESKTOP": "GNOME", "WAYLAND_DISPLAY": "wayland-0"}
    r = displays.collect(ProbeContext(platform="linux", environ=env))
    assert (r.session_type, r.desktop, r.monitor_count, r.connector_count) == ("wayland", "GNOME", 2, 4)
    assert len(json.dumps(to_jsonable(r))) < 4096


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"XDG_SESSION_TYPE": "x11", "DISPLAY": ":0"}, "x11"),
        ({"XDG_SESSION_TYPE": "tty"}, "tty"),
        ({"XDG_SESSION_TYPE": "unspecified", "DISPLAY": ":1"}, "x11"),
        ({"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}, "wayland"),  # XWayland sets DISPLAY too
        ({"DISPLAY": "localhost:10.0"}, "x11"),
        ({}, ""),
    ],
)
def test_session_type(environ: dict[str, str], expected: str) -> None:
    assert displays.session_type(environ) == expected


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /sys")
def test_real_machine_matches_sysfs() -> None:
    r = displays.collect(ProbeContext())
    assert isinstance(r, displays.DisplaysResult)
    drm = Path("/sys/class/drm")
    statuses = [p.read_text().strip() for p in drm.glob("card*-*/status")] if drm.is_dir() else []
    assert r.monitor_count == (statuses.count("connected") if drm.is_dir() else None)
    assert len(r.outputs) == min(statuses.count("connected"), displays.MAX_OUTPUTS)
    assert r.connector_count == (len(statuses) if drm.is_dir() else None)
    assert r.session_type == displays.session_type(os.environ)


def test_fields_documented_and_other_platforms_unsupported() -> None:
    assert all(row.doc for row in describe(displays.DisplaysResult))
    with pytest.raises(Unsupported, match="macos"):
        displays.collect(ProbeContext(platform="macos"))


def test_fast_enough() -> None:
    ctx = ProbeContext()
    start = time.perf_counter()
    displays.collect(ctx)
    assert time.perf_counter() - start < 0.05
