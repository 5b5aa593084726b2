"""Storage rules: disks running out of space or file slots, and disks that became read-only."""

from __future__ import annotations

from collections.abc import Iterator

from desktop.diagnostics.findings import CRITICAL, INFO, WARNING, Finding, Results, Thresholds, human_bytes, rule
from desktop.diagnostics.probes.disks import Filesystem

PROBE = "disks"
#: The minimum-free-MiB check applies only to filesystems larger than this: on a small /boot or a USB
#: stick, 1 GiB free is plenty, and the percentage checks cover them.
MIN_FREE_APPLIES_ABOVE_BYTES = 4 * 1024**3
#: Filesystems that are read-only by nature (CD/DVD images, compressed system images).
READ_ONLY_BY_NATURE = frozenset({"iso9660", "udf", "squashfs", "erofs", "cramfs", "romfs"})
#: Mounts that are never a user's storage problem.
IGNORED_PREFIXES = ("/sys", "/proc", "/snap")
#: Where programs expect to be able to write, even when the filesystem is tmpfs.
_TEMP_DIRS = ("/tmp", "/var/tmp")


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix.rstrip("/") + "/")


def _ignored(fs: Filesystem) -> bool:
    return any(_under(fs.mount_point, p) for p in IGNORED_PREFIXES)


def _is_system(mount_point: str) -> bool:
    return mount_point == "/" or (len(mount_point) == 3 and mount_point[1:] in (":\\", ":/"))


def _is_home(mount_point: str) -> bool:
    return _under(mount_point, "/home") or mount_point in ("/Users", "/System/Volumes/Data")


def _is_removable(fs: Filesystem) -> bool:
    return any(_under(fs.mount_point, p) for p in ("/media", "/run/media", "/mnt", "/Volumes"))


def _what(fs: Filesystem) -> str:
    """How the filesystem is named to a user: its mount point, with what it is."""
    if _is_system(fs.mount_point):
        return f"the system disk ({fs.mount_point})"
    if _is_home(fs.mount_point):
        return f"the disk with your files ({fs.mount_point})"
    return fs.mount_point


def _cleanup_step(fs: Filesystem) -> str:
    """One concrete thing to clean, chosen by where the filesystem is mounted."""
    mp = fs.mount_point
    if fs.fs_type == "tmpfs" or any(_under(mp, d) for d in _TEMP_DIRS):
        return (
            f"Temporary files fill {mp}. Close programs you do not need, then restart the computer: "
            f"{mp} is emptied at start-up on most systems."
        )
    if _under(mp, "/boot"):
        return f"Old system versions fill {mp}. Ask IT to remove old kernels (on Debian/Ubuntu: sudo apt autoremove)."
    if _under(mp, "/var"):
        return f"Logs or caches fill {mp}. Ask IT to clear old logs and package caches there."
    if _is_home(mp):
        return (
            f"Empty the Trash, then delete or move files you no longer need from your home folder on {mp} "
            "(Downloads, videos, old backups are usually the largest)."
        )
    if _is_system(mp):
        return (
            f"Empty the Trash and delete or move large files you no longer need (Downloads, videos). If {mp} "
            "is still full, ask IT to clear old logs, caches and updates on it."
        )
    return f"Delete or move files you no longer need from {mp}, or move them to a larger disk."


@rule("disk.almost_full", PROBE)
def almost_full(results: Results, thresholds: Thresholds) -> Iterator[Finding]:
    """A writable filesystem with little space left: below a percentage, or below a minimum on large ones."""
    warn = float(thresholds["disk_free_percent_warning"])
    crit = float(thresholds["disk_free_percent_critical"])
    min_bytes = float(thresholds["disk_free_min_mb"]) * 1024 * 1024
    for fs in results[PROBE].filesystems:
        if fs.read_only or _ignored(fs) or fs.used_bytes is None or fs.free_bytes is None or not fs.total_bytes:
            continue
        usable = fs.used_bytes + fs.free_bytes
        if usable <= 0:
            continue
        free_pct = 100.0 * fs.free_bytes / usable
        if free_pct < crit:
            severity, limit = CRITICAL, f"below the critical limit of {crit:g} %"
        elif free_pct < warn:
            severity, limit = WARNING, f"below the warning limit of {warn:g} %"
        elif fs.total_bytes > MIN_FREE_APPLIES_ABOVE_BYTES and fs.free_bytes < min_bytes:
            severity, limit = WARNING, f"below the minimum of {human_bytes(min_bytes)}"
        else:
            continue
        yield Finding(
            id="disk.almost_full",
            severity=severity,
            title=f"Disk almost full: {fs.mount_point}",
            detail=(
                f"Only {human_bytes(fs.free_bytes)} ({free_pct:.1f} %) of {human_bytes(usable)} is free on "
                f"{_what(fs)}, {limit}. Programs may fail to save files, update or start."
            ),
            next_step=_cleanup_step(fs),
            probe=PROBE,
            subject=fs.mount_point,
            evidence={
                "mount_point": fs.mount_point,
                "device": fs.device,
                "fs_type": fs.fs_type,
                "free_bytes": fs.free_bytes,
                "total_bytes": fs.total_bytes,
                "free_percent": round(free_pct, 2),
            },
        )


@rule("disk.inodes_exhausted", PROBE)
def inodes_exhausted(results: Results, thresholds: Thresholds) -> Iterator[Finding]:
    """A filesystem running out of file slots (inodes): no new file can be created, whatever the free space."""
    limit = float(thresholds["inodes_free_percent"])
    for fs in results[PROBE].filesystems:
        if fs.read_only or _ignored(fs) or not fs.inodes_total or fs.inodes_free is None:
            continue
        free_pct = 100.0 * fs.inodes_free / fs.inodes_total
        if fs.inodes_free > 0 and free_pct >= limit:
            continue
        severity = CRITICAL if fs.inodes_free == 0 else WARNING
        space = f", although {human_bytes(fs.free_bytes)} of space is still free" if fs.free_bytes else ""
        yield Finding(
            id="disk.inodes_exhausted",
            severity=severity,
            title=f"Too many files: {fs.mount_point}",
            detail=(
                f"There is room for only {fs.inodes_free:,} more files on {_what(fs)} ({free_pct:.1f} % of its "
                f"{fs.inodes_total:,} file slots left, the limit is {limit:g} %){space}. When none are left, "
                "programs cannot create any new file."
            ),
            next_step=(
                f"A folder with a huge number of small files (often a cache, mail or temporary folder) fills "
                f"{fs.mount_point}. Ask IT to find it (for example: du --inodes -x {fs.mount_point} | sort -n) "
                "and clean it."
            ),
            probe=PROBE,
            subject=fs.mount_point,
            evidence={
                "mount_point": fs.mount_point,
                "fs_type": fs.fs_type,
                "inodes_free": fs.inodes_free,
                "inodes_total": fs.inodes_total,
                "inodes_free_percent": round(free_pct, 2),
            },
        )


def _read_only_expected(fs: Filesystem) -> bool:
    """Read-only by nature or by deliberate configuration, so nothing to report."""
    if fs.fs_type.lower() in READ_ONLY_BY_NATURE or _ignored(fs):
        return True
    if fs.fs_type == "tmpfs":
        # tmpfs never turns read-only by itself: a read-only one was configured so (sandboxes, containers);
        # it matters only where programs expect to write temporary files.
        return fs.mount_point not in _TEMP_DIRS
    # macOS (10.15+) mounts the sealed system volume read-only at /; the user's data is on another volume
    return fs.mount_point == "/" and fs.fs_type.lower() == "apfs"


def _read_only_step(fs: Filesystem) -> str:
    if fs.network:
        return (
            f"If you need to save files on {fs.mount_point}, ask IT whether the share is meant to be read-only "
            "for you."
        )
    if fs.fs_type.lower() in ("ntfs", "ntfs3", "fuseblk"):
        return (
            "Windows disks open read-only when Windows was not shut down completely (Fast Startup or "
            "hibernation): start Windows, choose Shut down while holding Shift, and try again."
        )
    if _is_removable(fs) and not _is_system(fs.mount_point) and not _is_home(fs.mount_point):
        return (
            f"If {fs.mount_point} is a USB stick or memory card, check its write-protect switch, then remove it "
            "safely and plug it in again. If it stays read-only, copy your files off it: it may be failing."
        )
    return (
        "Save your work somewhere else if you can, then restart the computer. If the disk is still read-only "
        "after the restart, contact IT: the system found errors on it and it may be failing."
    )


@rule("disk.read_only", PROBE)
def read_only(results: Results, thresholds: Thresholds) -> Iterator[Finding]:
    """A normally writable filesystem mounted read-only (often the kernel protecting a disk with errors)."""
    del thresholds  # a fact, not a measure: no threshold applies
    for fs in results[PROBE].filesystems:
        if not fs.read_only or _read_only_expected(fs):
            continue
        if fs.network:
            severity = INFO  # read-only shares are often meant to be so
        elif _is_system(fs.mount_point) or _is_home(fs.mount_point):
            severity = CRITICAL
        else:
            severity = WARNING
        yield Finding(
            id="disk.read_only",
            severity=severity,
            title=f"Disk is read-only: {fs.mount_point}",
            detail=(
                f"{fs.mount_point} ({fs.fs_type} on {fs.device}) is mounted read-only: nothing can be saved or "
                "changed there."
                + ("" if fs.network else " On a disk that is normally writable this usually means the system "
                   "found errors on it and stopped writing to protect your data.")
            ),
            next_step=_read_only_step(fs),
            probe=PROBE,
            subject=fs.mount_point,
            evidence={"mount_point": fs.mount_point, "device": fs.device, "fs_type": fs.fs_type},
        )
