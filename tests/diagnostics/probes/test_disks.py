"""The disks probe: recorded mount tables, the statvfs deadline, this machine's disks cross-checked with df,
and real filesystems staged in a private mount namespace (root only; the host's mount table is untouched)."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import threading
import time
from collections import namedtuple
from pathlib import Path
from typing import Any

import pytest

from desktop.diagnostics.base import ProbeContext, Unsupported, to_jsonable
from desktop.diagnostics.probes import disks

FIXTURES = Path(__file__).parents[2] / "fixtures" / "disks"
REPO = Path(__file__).resolve().parents[3]
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def _chosen(name: str) -> dict[str, tuple[disks.Mount, list[str]]]:
    mounts = disks.parse_mountinfo((FIXTURES / name).read_text(encoding="utf-8"))
    return {m.mount_point: (m, others) for m, others in disks.select(mounts)}


def test_recorded_desktop_keeps_what_a_user_stores_files_on() -> None:
    chosen = _chosen("ubuntu_desktop.mountinfo")
    assert list(chosen) == [
        "/",
        "/boot/efi",
        "/tmp",
        "/home",
        "/srv/share",
        "/mnt/nas",
        "/media/alice/KINGSTON USB",  # \040 in the table is a space
        "/mnt/data",
        "/media/cdrom",
    ]
    # pseudo filesystems, runtime tmpfs (/run, /dev/shm, /run/user), snap images, FUSE helpers and a
    # container's overlay are all left out
    root, _ = chosen["/"]
    assert (root.device, root.fs_type, root.read_only) == ("/dev/nvme0n1p2", "ext4", False)
    assert chosen["/tmp"][0].fs_type == "tmpfs"
    assert chosen["/srv/share"][0].device == "fileserver.corp.example:/export/share"
    assert chosen["/mnt/data"][0].read_only
    assert chosen["/media/cdrom"][0].read_only
    assert not chosen["/media/alice/KINGSTON USB"][0].read_only


def test_bind_mounts_fold_into_the_shortest_mount_point() -> None:
    chosen = _chosen("ubuntu_desktop.mountinfo")
    home, others = chosen["/home"]
    assert others == ["/srv/projects", "/var/lib/docker/volumes/projects"]
    # the kept mount's own options decide read_only: the ro bind elsewhere does not make /home read-only
    assert not home.read_only


def test_recorded_container_keeps_overlay_root_and_folds_file_binds() -> None:
    chosen = _chosen("container.mountinfo")
    assert list(chosen) == ["/", "/src"]
    assert chosen["/"][0].fs_type == "overlay"
    assert chosen["/src"][1] == ["/etc/hostname", "/etc/hosts", "/etc/resolv.conf"]


def test_proc_mounts_fallback_format() -> None:
    text = (
        "/dev/sda2 / ext4 rw,relatime,errors=remount-ro 0 0\n"
        "proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n"
        "tmpfs /run tmpfs rw,nosuid,nodev,size=1609212k,mode=755 0 0\n"
        "tmpfs /tmp tmpfs rw,nosuid,nodev 0 0\n"
        "/dev/sdb1 /media/bob/My\\040Disk exfat ro,nosuid,nodev,relatime 0 0\n"
        "/dev/sda2 /var/snap/x/common ext4 rw,relatime 0 0\n"
    )
    chosen = disks.select(disks.parse_mounts(text))
    assert [(m.mount_point, m.read_only, others) for m, others in chosen] == [
        ("/", False, ["/var/snap/x/common"]),
        ("/tmp", False, []),
        ("/media/bob/My Disk", True, []),
    ]


Stat = namedtuple("Stat", "f_blocks f_bfree f_bavail f_frsize f_files f_ffree")


def test_space_arithmetic_matches_df(monkeypatch: pytest.MonkeyPatch) -> None:
    # ext4 reserving 5 %: 1000 blocks, 300 free, 250 available to users
    monkeypatch.setattr(disks.os, "statvfs", lambda path: Stat(1000, 300, 250, 4096, 64, 16))
    space = disks.space_statvfs("/")
    m = disks.Mount("/dev/sda1", "/", "ext4", frozenset({"rw"}))
    fs = disks.filesystem(m, [], space)
    assert (fs.total_bytes, fs.used_bytes, fs.free_bytes) == (4096000, 700 * 4096, 250 * 4096)
    assert fs.used_percent == pytest.approx(100 * 700 / 950, abs=0.05)  # df: used / (used + avail)
    assert (fs.inodes_total, fs.inodes_free, fs.inodes_used_percent) == (64, 16, 75.0)


def test_filesystems_without_inode_counts_say_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(disks.os, "statvfs", lambda path: Stat(1000, 300, 300, 4096, 0, 0))
    m = disks.Mount("/dev/sda3", "/data", "btrfs", frozenset({"rw"}))
    fs = disks.filesystem(m, [], disks.space_statvfs("/data"))
    assert (fs.inodes_total, fs.inodes_free, fs.inodes_used_percent) == (None, None, None)


def test_network_filesystems_are_listed_but_never_statvfsd() -> None:
    chosen = disks.select(disks.parse_mountinfo((FIXTURES / "ubuntu_desktop.mountinfo").read_text("utf-8")))
    asked: list[str] = []

    def how(path: str) -> disks.Space:
        asked.append(path)
        return disks.Space(10, 5, 5)

    listed = {fs.mount_point: fs for fs in disks.measure(chosen, 1.0, how)}
    assert "/srv/share" not in asked
    assert "/mnt/nas" not in asked
    for mp in ("/srv/share", "/mnt/nas"):
        assert listed[mp].network
        assert listed[mp].total_bytes is None
        assert "network" in (listed[mp].usage_error or "")
    assert listed["/"].total_bytes == 10
    assert not listed["/"].network
    assert listed["/home"].bind_count == 2


def test_an_unresponsive_filesystem_costs_only_the_deadline() -> None:
    release = threading.Event()

    def how(path: str) -> disks.Space:
        if path == "/hung":
            release.wait(30)  # as a dead FUSE daemon would
        if path == "/gone":
            raise FileNotFoundError(2, "No such file or directory")
        return disks.Space(100, 40, 60)

    try:
        start = time.monotonic()
        got = disks.measure_many(["/", "/hung", "/home", "/gone"], 0.3, how)
        elapsed = time.monotonic() - start
    finally:
        release.set()
    assert elapsed < 2.0
    assert got["/"] == disks.Space(100, 40, 60)
    assert got["/home"] == disks.Space(100, 40, 60)
    assert got["/hung"] == "no answer within 0.3 s"
    assert got["/gone"] == "No such file or directory"


def test_windows_partitions_via_psutil(monkeypatch: pytest.MonkeyPatch) -> None:
    part = namedtuple("part", "device mountpoint fstype opts")
    monkeypatch.setattr(
        disks.psutil,
        "disk_partitions",
        lambda all=False: [
            part("C:\\", "C:\\", "NTFS", "rw,fixed"),
            part("D:\\", "D:\\", "", "cdrom"),
            part("Z:\\", "Z:\\", "NTFS", "rw,remote"),
        ],
    )
    usage = namedtuple("usage", "total used free percent")
    monkeypatch.setattr(disks.psutil, "disk_usage", lambda path: usage(500, 400, 100, 80.0))
    monkeypatch.setattr(disks.psutil, "disk_io_counters", lambda perdisk=False: {})
    r = disks.collect(ProbeContext(platform="windows"))
    assert r.source == "psutil"
    assert [fs.mount_point for fs in r.filesystems] == ["C:\\", "Z:\\"]
    c, z = r.filesystems
    assert (c.total_bytes, c.used_bytes, c.free_bytes, c.used_percent) == (500, 400, 100, 80.0)
    assert z.network
    assert z.total_bytes is None


def test_other_platforms_are_unsupported() -> None:
    with pytest.raises(Unsupported, match="not supported on plan9"):
        disks.collect(ProbeContext(platform="plan9"))


# -- this machine ---------------------------------------------------------------------------------------


def _df(*paths: str, inodes: bool = False) -> dict[str, list[int]]:
    cols = "itotal,iused,iavail" if inodes else "size,used,avail"
    out = subprocess.run(
        ["df", "-B1", f"--output={cols},target", *paths], capture_output=True, text=True, check=True
    ).stdout
    rows = {}
    for line in out.splitlines()[1:]:
        *nums, target = line.split(None, 3)
        rows[target] = [int(n) for n in nums]
    return rows


@linux_only
def test_this_machine_root_filesystem_agrees_with_df() -> None:
    r = disks.collect(ProbeContext())
    assert isinstance(r, disks.DisksResult)
    assert r.source == "/proc/self/mountinfo"
    by_mp = {fs.mount_point: fs for fs in r.filesystems}
    root = by_mp["/"]
    size, used, avail = _df("/")["/"]
    assert root.total_bytes == size
    # other programs write meanwhile: allow 256 MiB of drift
    assert root.used_bytes == pytest.approx(used, abs=256 * 2**20)
    assert root.free_bytes == pytest.approx(avail, abs=256 * 2**20)
    assert root.used_percent is not None
    assert 0 <= root.used_percent <= 100
    assert root.usage_error is None
    itotal, _iused, iavail = _df("/", inodes=True)["/"]
    if itotal:
        assert root.inodes_total == itotal
        assert root.inodes_free == pytest.approx(iavail, abs=100_000)


@linux_only
def test_this_machine_lists_only_real_mounts() -> None:
    r = disks.collect(ProbeContext())
    mounted = {disks._unescape(line.split()[1]) for line in Path("/proc/self/mounts").read_text().splitlines()}
    assert r.filesystems_total == len(r.filesystems) <= disks.MAX_FILESYSTEMS
    for fs in r.filesystems:
        assert fs.mount_point in mounted
        assert fs.fs_type not in disks.PSEUDO_FS
        assert not fs.mount_point.startswith(("/proc/", "/sys/"))
        if fs.fs_type == "tmpfs":
            assert not fs.mount_point.startswith(("/run/", "/dev/"))
    assert len(json.dumps(to_jsonable(r))) < 16_000


@linux_only
def test_this_machine_disk_counters_are_physical_disks_and_monotonic() -> None:
    before = {}
    for line in Path("/proc/diskstats").read_text().splitlines():
        f = line.split()
        before[f[2]] = (int(f[3]), int(f[7]))  # reads and writes completed
    r = disks.collect(ProbeContext())
    whole = set(os.listdir("/sys/block"))
    expected = {n for n in whole if not n.startswith(disks._VIRTUAL_DISK_PREFIXES) and n in before}
    assert {d.name for d in r.disks} == expected
    assert r.disks_total == len(expected)
    for d in r.disks:
        assert d.read_count >= before[d.name][0]
        assert d.write_count >= before[d.name][1]
        assert d.read_bytes >= 0
        assert d.write_bytes >= 0
        assert d.busy_ms is None or d.busy_ms >= 0


@linux_only
def test_this_machine_is_fast() -> None:
    ctx = ProbeContext()
    disks.collect(ctx)  # warm the import and the page cache
    best = min(_timed(lambda: disks.collect(ctx)) for _ in range(5))
    # a bound, not a benchmark (bench/collect.py measures): loose enough for a loaded CI machine
    assert best < 1.0, f"disks probe took {best * 1000:.1f} ms"


def _timed(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


# -- real filesystems staged in a private mount namespace ----------------------------------------------

#: Runs in the namespace: the disks probe and the storage rules for each set of thresholds given in argv[1];
#: prints the probe's result and the findings as JSON.
CHILD = """
import dataclasses, json, sys
from desktop.diagnostics.base import ProbeContext, to_jsonable
from desktop.diagnostics.probes import disks
from desktop.diagnostics.rules import storage
r = disks.collect(ProbeContext())
out = {"disks": to_jsonable(r), "findings": []}
for th in json.loads(sys.argv[1]):
    res = {"disks": r}
    found = [*storage.almost_full(res, th), *storage.inodes_exhausted(res, th), *storage.read_only(res, th)]
    out["findings"].append([dataclasses.asdict(f) for f in found])
print(json.dumps(out))
"""


def in_private_mounts(setup: list[str], thresholds: list[dict[str, float]] | None = None) -> dict[str, Any]:
    """Run ``setup`` (shell commands, as root) then :data:`CHILD` inside a private mount namespace.

    The mounts exist only in that namespace and vanish with it, so the host's mount table is never touched.
    Skips the test when not root, or when the namespace or a mount cannot be made here.
    """
    if not sys.platform.startswith("linux"):
        pytest.skip("mount namespaces are Linux only")
    if os.geteuid() != 0:
        pytest.skip("needs root to mount filesystems (in a private mount namespace)")
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("util-linux unshare is not installed")
    probe = subprocess.run([unshare, "-m", "true"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"cannot create a mount namespace here: {probe.stderr.strip()}")
    script = "{ " + " && ".join(setup) + "; } >&2 || exit 97\nexec \"$@\""
    argv = [unshare, "-m", "--propagation", "private", "sh", "-c", script, "sh"]
    argv += [sys.executable, "-c", CHILD, json.dumps(thresholds or [])]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, env=env, timeout=60)
    if proc.returncode == 97:
        pytest.skip(f"cannot stage the mounts here: {proc.stderr.strip()[-300:]}")
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def stage_tmpfs(tmp_path: Path) -> tuple[Path, Path, list[str]]:
    """A 4 MiB tmpfs filled to 3900 KiB, and a read-only 1 MiB tmpfs."""
    full, ro = tmp_path / "full", tmp_path / "ro"
    full.mkdir()
    ro.mkdir()
    q = shlex.quote
    setup = [
        f"mount -t tmpfs -o size=4m tmpfs {q(str(full))}",
        f"dd if=/dev/zero of={q(str(full / 'fill'))} bs=1k count=3900 2>/dev/null",
        f"mount -t tmpfs -o ro,size=1m tmpfs {q(str(ro))}",
        f"df -B1 --output=size,used,avail,target {q(str(full))} {q(str(ro))} > {q(str(tmp_path / 'df.txt'))}",
    ]
    return full, ro, setup


def stage_ext4_ro(tmp_path: Path) -> tuple[Path, list[str]]:
    """A small ext4 image, loop-mounted read-only (as the kernel leaves a disk with errors)."""
    if shutil.which("mkfs.ext4") is None or not Path("/dev/loop-control").exists():
        pytest.skip("mkfs.ext4 or loop devices are not available")
    image, mnt = tmp_path / "disk.img", tmp_path / "ext4"
    mnt.mkdir()
    with image.open("wb") as fh:
        fh.truncate(8 * 2**20)
    mkfs = subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], capture_output=True, text=True, check=False)
    if mkfs.returncode != 0:
        pytest.skip(f"mkfs.ext4 failed: {mkfs.stderr.strip()}")
    q = shlex.quote
    setup = [
        f"mount -o loop,ro {q(str(image))} {q(str(mnt))}",
        f"df -B1 --output=itotal,iused,iavail,target {q(str(mnt))} > {q(str(tmp_path / 'dfi.txt'))}",
    ]
    return mnt, setup


def _df_file(path: Path) -> dict[str, list[int]]:
    rows = {}
    for line in path.read_text().splitlines()[1:]:
        *nums, target = line.split(None, 3)
        rows[target] = [int(n) for n in nums]
    return rows


@pytest.mark.root
def test_staged_full_and_read_only_tmpfs(tmp_path: Path) -> None:
    full, ro, setup = stage_tmpfs(tmp_path)
    out = in_private_mounts(setup)
    by_mp = {fs["mount_point"]: fs for fs in out["disks"]["filesystems"]}
    df = _df_file(tmp_path / "df.txt")
    f = by_mp[str(full)]
    assert (f["fs_type"], f["read_only"], f["network"]) == ("tmpfs", False, False)
    assert [f["total_bytes"], f["used_bytes"], f["free_bytes"]] == df[str(full)]
    assert f["total_bytes"] == 4 * 2**20
    assert f["used_percent"] > 90
    r = by_mp[str(ro)]
    assert (r["fs_type"], r["read_only"]) == ("tmpfs", True)
    assert [r["total_bytes"], r["used_bytes"], r["free_bytes"]] == df[str(ro)]
    # the namespace kept the mounts to itself
    host = Path("/proc/self/mounts").read_text()
    assert str(full) not in host
    assert str(ro) not in host


@pytest.mark.root
def test_staged_read_only_ext4_on_a_loop_device(tmp_path: Path) -> None:
    mnt, setup = stage_ext4_ro(tmp_path)
    out = in_private_mounts(setup)
    fs = {f["mount_point"]: f for f in out["disks"]["filesystems"]}[str(mnt)]
    assert fs["fs_type"] == "ext4"
    assert fs["device"].startswith("/dev/loop")
    assert fs["read_only"]
    itotal, _iused, iavail = _df_file(tmp_path / "dfi.txt")[str(mnt)]
    assert (fs["inodes_total"], fs["inodes_free"]) == (itotal, iavail)
    assert fs["total_bytes"] > 4 * 2**20
    # the loop device is not a physical disk
    assert not any(d["name"].startswith("loop") for d in out["disks"]["disks"])
    assert str(mnt) not in Path("/proc/self/mounts").read_text()

