"""Storage rules on staged disks results, and on real full and read-only filesystems (root only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from desktop.config import SCHEMA_BY_KEY
from desktop.diagnostics import findings
from desktop.diagnostics.findings import CRITICAL, INFO, WARNING, Finding
from desktop.diagnostics.probes.disks import DisksResult, Filesystem
from desktop.diagnostics.rules import storage
from tests.diagnostics.probes.test_disks import in_private_mounts, stage_ext4_ro, stage_tmpfs

GIB = 1024**3
MIB = 1024**2
DEFAULTS: dict[str, Any] = {
    k.removeprefix("thresholds."): s.default for k, s in SCHEMA_BY_KEY.items() if k.startswith("thresholds.")
}


def fs(mount_point: str = "/", **kw: Any) -> Filesystem:
    """A healthy 100 GiB ext4 filesystem, changed by ``kw``."""
    total = kw.pop("total", 100 * GIB)
    free = kw.pop("free", 60 * GIB)
    values: dict[str, Any] = {
        "device": "/dev/sda2",
        "mount_point": mount_point,
        "fs_type": "ext4",
        "read_only": False,
        "network": False,
        "total_bytes": total,
        "used_bytes": total - free,
        "free_bytes": free,
        "used_percent": round(100 * (total - free) / total, 1),
        "inodes_total": 6_000_000,
        "inodes_free": 5_000_000,
        "inodes_used_percent": 16.7,
        "bind_count": 0,
        "other_mount_points": (),
        "usage_error": None,
    }
    values.update(kw)
    return Filesystem(**values)


def results(*filesystems: Filesystem) -> dict[str, Any]:
    return {"disks": DisksResult(tuple(filesystems), len(filesystems), (), 0, "/proc/self/mountinfo")}


def run(rule_id: str, res: dict[str, Any], **overrides: float) -> list[Finding]:
    func = findings.rules()[rule_id].func
    return list(func(res, {**DEFAULTS, **overrides}))


def test_rules_are_registered_on_the_disks_probe() -> None:
    registered = findings.rules()
    for rule_id in ("disk.almost_full", "disk.inodes_exhausted", "disk.read_only"):
        assert registered[rule_id].probes == ("disks",)


def test_healthy_disks_give_no_findings() -> None:
    res = results(fs("/"), fs("/home"), fs("/boot/efi", fs_type="vfat", total=512 * MIB, free=400 * MIB))
    assert findings.evaluate(res, DEFAULTS) == []


@pytest.mark.parametrize(
    ("free_gib", "expected"),
    [(20.0, None), (9.0, WARNING), (2.5, CRITICAL)],
)
def test_almost_full_by_percentage(free_gib: float, expected: str | None) -> None:
    found = run("disk.almost_full", results(fs("/home", free=int(free_gib * GIB))))
    assert [f.severity for f in found] == ([expected] if expected else [])
    if expected:
        (f,) = found
        assert f.subject == "/home"
        assert "/home" in f.title
        assert f"{free_gib:.1f} GiB" in f.detail
        assert "/home" in f.next_step
        assert "Trash" in f.next_step
        assert f.evidence["free_bytes"] == int(free_gib * GIB)


def test_almost_full_follows_the_thresholds() -> None:
    res = results(fs("/", free=8 * GIB))  # 8 % free
    assert [f.severity for f in run("disk.almost_full", res)] == [WARNING]
    assert run("disk.almost_full", res, disk_free_percent_warning=5.0) == []
    assert [f.severity for f in run("disk.almost_full", res, disk_free_percent_critical=9.0)] == [CRITICAL]


def test_almost_full_minimum_applies_to_large_filesystems_only() -> None:
    big = fs("/data", total=2000 * GIB, free=900 * MIB)  # percentage checks switched off below
    # under 1 GiB free, but only 4 GiB in all: the percentage checks cover small filesystems
    small = fs("/boot", total=storage.MIN_FREE_APPLIES_ABOVE_BYTES, free=300 * MIB)
    res = results(big, small)
    found = run("disk.almost_full", res, disk_free_percent_warning=0.0, disk_free_percent_critical=0.0)
    assert [(f.subject, f.severity) for f in found] == [("/data", WARNING)]
    assert "900.0 MiB" in found[0].detail
    assert run("disk.almost_full", res, disk_free_percent_warning=0.0, disk_free_percent_critical=0.0,
               disk_free_min_mb=512.0) == []


def test_almost_full_uses_the_space_users_can_write_not_raw_free() -> None:
    # ext4 reserving 5 % for root: 100 GiB, 94 GiB used, 1 GiB available to the user (5 GiB raw free)
    f = fs("/", total=100 * GIB, used_bytes=94 * GIB, free_bytes=1 * GIB)
    (found,) = run("disk.almost_full", results(f))
    assert found.severity == CRITICAL  # 1 / 95 = 1.05 % < 3 %


def test_almost_full_skips_read_only_snap_and_unmeasured() -> None:
    res = results(
        fs("/media/cdrom", fs_type="iso9660", read_only=True, free=0),
        fs("/snap/core/1", fs_type="squashfs", free=0),
        fs("/srv/share", fs_type="nfs4", network=True, total_bytes=None, used_bytes=None, free_bytes=None,
           used_percent=None, usage_error="network filesystem"),
    )
    assert run("disk.almost_full", res) == []


@pytest.mark.parametrize(
    ("mount_point", "fs_type", "clue"),
    [
        ("/tmp", "tmpfs", "restart"),
        ("/boot", "ext4", "kernels"),
        ("/var", "xfs", "logs"),
        ("/", "ext4", "Trash"),
        ("/media/alice/USB", "vfat", "/media/alice/USB"),
    ],
)
def test_almost_full_next_step_fits_the_place(mount_point: str, fs_type: str, clue: str) -> None:
    (f,) = run("disk.almost_full", results(fs(mount_point, fs_type=fs_type, free=1 * GIB)))
    assert clue in f.next_step
    assert mount_point in f.next_step


def test_inodes_exhausted() -> None:
    low = fs("/var", inodes_total=1_000_000, inodes_free=20_000)  # 2 % left
    none = fs("/srv", inodes_total=1_000_000, inodes_free=0)
    fine = fs("/home", inodes_total=1_000_000, inodes_free=400_000)
    no_counts = fs("/data", fs_type="btrfs", inodes_total=None, inodes_free=None, inodes_used_percent=None)
    found = run("disk.inodes_exhausted", results(low, none, fine, no_counts))
    assert [(f.subject, f.severity) for f in found] == [("/var", WARNING), ("/srv", CRITICAL)]
    assert "20,000" in found[0].detail
    assert "60.0 GiB" in found[0].detail  # space is free, yet files cannot be created
    assert "/var" in found[0].next_step
    # the threshold moves the line
    assert [f.subject for f in run("disk.inodes_exhausted", results(low), inodes_free_percent=1.0)] == []
    assert [f.subject for f in run("disk.inodes_exhausted", results(fine), inodes_free_percent=50.0)] == ["/home"]


@pytest.mark.parametrize(
    ("mount_point", "fs_type", "network", "expected"),
    [
        ("/", "ext4", False, CRITICAL),
        ("/home", "btrfs", False, CRITICAL),
        ("/home/alice", "xfs", False, CRITICAL),
        ("/mnt/data", "ext4", False, WARNING),
        ("/media/alice/STICK", "vfat", False, WARNING),
        ("/srv/share", "nfs4", True, INFO),
        ("/tmp", "tmpfs", False, WARNING),  # programs expect to write there
        ("/opt/sandbox", "tmpfs", False, None),  # a read-only tmpfs is always deliberate
        ("/media/cdrom", "iso9660", False, None),
        ("/mnt/image", "squashfs", False, None),
        ("/snap/core22/1380", "ext4", False, None),
        ("/sys/firmware", "ext4", False, None),
        ("/", "apfs", False, None),  # macOS' sealed system volume
    ],
)
def test_read_only(mount_point: str, fs_type: str, network: bool, expected: str | None) -> None:
    f = fs(mount_point, fs_type=fs_type, read_only=True, network=network)
    found = run("disk.read_only", results(f))
    assert [x.severity for x in found] == ([expected] if expected else [])
    if expected:
        assert found[0].subject == mount_point
        assert mount_point in found[0].title


def test_read_only_next_steps() -> None:
    (usb,) = run("disk.read_only", results(fs("/media/a/STICK", fs_type="vfat", read_only=True)))
    assert "write-protect" in usb.next_step
    (win,) = run("disk.read_only", results(fs("/mnt/win", fs_type="ntfs3", read_only=True)))
    assert "Windows" in win.next_step
    (root,) = run("disk.read_only", results(fs("/", read_only=True)))
    assert "restart" in root.next_step


def test_writable_filesystems_are_not_read_only_findings() -> None:
    assert run("disk.read_only", results(fs("/"), fs("/home"))) == []


# -- real conditions, staged in a private mount namespace ---------------------------------------------


@pytest.mark.root
def test_staged_full_tmpfs_and_read_only_tmpfs(tmp_path: Path) -> None:
    full, ro, setup = stage_tmpfs(tmp_path)
    # 3900 KiB of 4 MiB used: about 4.8 % free
    sets = [DEFAULTS, {**DEFAULTS, "disk_free_percent_critical": 5.0}, {**DEFAULTS, "disk_free_percent_warning": 4.0,
                                                                         "disk_free_percent_critical": 1.0}]
    out = in_private_mounts(setup, sets)
    default, strict, lax = ([(f["id"], f["subject"], f["severity"]) for f in found
                             if f["subject"].startswith(str(tmp_path))] for found in out["findings"])
    assert default == [("disk.almost_full", str(full), WARNING)]
    assert strict == [("disk.almost_full", str(full), CRITICAL)]
    assert lax == []
    # the read-only tmpfs is deliberate: no disk.read_only for it, and no fullness check on it
    assert not any(s == str(ro) for _, s, _ in default)


@pytest.mark.root
def test_staged_read_only_ext4(tmp_path: Path) -> None:
    mnt, setup = stage_ext4_ro(tmp_path)
    out = in_private_mounts(setup, [DEFAULTS])
    (found,) = out["findings"]
    mine = [f for f in found if f["subject"] == str(mnt)]
    assert [(f["id"], f["severity"]) for f in mine] == [("disk.read_only", WARNING)]
    assert "ext4" in mine[0]["detail"]
    assert mine[0]["evidence"]["device"].startswith("/dev/loop")

