"""Disks: the mounted filesystems a user cares about (space, inodes, read-only) and I/O per physical disk.

On Linux the mount table comes from ``/proc/self/mountinfo`` read directly: it is faster than psutil's
``disk_partitions`` and more complete (psutil's ``all=False`` drops tmpfs, yet a full ``/tmp`` on tmpfs
is a real user problem), and it gives each mount's device number, which tells bind mounts of one
filesystem apart from distinct filesystems without a ``stat`` that could hang.

Kept: filesystems on block devices (wherever mounted, except snap packages' squashfs images), tmpfs
outside ``/dev``, ``/run``, ``/sys`` and ``/proc``, overlay only as the root filesystem (containers),
network and FUSE filesystems. Dropped: the kernel's pseudo filesystems (proc, sysfs, cgroup, ...).

Space is measured with ``statvfs``, all filesystems at once in daemon threads with one shared deadline,
so one unresponsive FUSE mount costs at most :data:`STATVFS_TIMEOUT` and never blocks the report.
Network filesystems are listed but not measured: ``statvfs`` on a dead NFS or SMB server can block a
thread in the kernel for minutes, and such a thread even delays the process's exit.

Windows and macOS use psutil's ``disk_partitions`` and ``disk_usage``.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import psutil

from desktop.diagnostics.base import LINUX, MACOS, WINDOWS, ProbeContext, ProbeError, Unsupported, field

NAME = "disks"
TITLE = "Disks"

#: At most this many filesystems and disks are listed (the totals say how many there were).
MAX_FILESYSTEMS = 50
MAX_DISKS = 16
#: At most this many further mount points of one filesystem are named.
MAX_OTHER_MOUNT_POINTS = 8
#: Seconds all ``statvfs`` calls together may take; a filesystem that has not answered by then is
#: listed with ``usage_error`` set.
STATVFS_TIMEOUT = 1.0

#: Kernel-internal filesystems: nothing a user stores files on.
PSEUDO_FS = frozenset(
    {
        "proc", "sysfs", "cgroup", "cgroup2", "cpuset", "devpts", "devtmpfs", "mqueue", "debugfs", "tracefs",
        "securityfs", "pstore", "bpf", "autofs", "fusectl", "configfs", "binfmt_misc", "nsfs", "hugetlbfs",
        "rpc_pipefs", "nfsd", "efivarfs", "selinuxfs", "ramfs", "sockfs", "pipefs", "anon_inodefs", "rootfs",
        "fuse.lxcfs", "fuse.portal", "fuse.gvfsd-fuse", "fuse.snapfuse", "squashfuse", "aufs", "xenfs", "usbfs",
        "devfs", "nullfs",
    }
)  # fmt: skip
#: Filesystems served over the network: listed, never ``statvfs``'d (a dead server hangs the call).
NETWORK_FS = frozenset(
    {
        "nfs", "nfs4", "cifs", "smb3", "smbfs", "sshfs", "fuse.sshfs", "ceph", "glusterfs", "fuse.glusterfs",
        "afs", "ncpfs", "davfs", "fuse.davfs2", "fuse.rclone", "fuse.s3fs", "lustre", "gpfs", "beegfs",
    }
)  # fmt: skip
#: tmpfs under these is runtime state of the system, not space a user fills.
_RUNTIME_PREFIXES = ("/dev", "/run", "/sys", "/proc")
#: squashfs under these is a snap package image, always 100 % full and read-only by design.
_SNAP_PREFIXES = ("/snap", "/var/lib/snapd/snap")
#: Whole-disk devices that are not physical disks: loop files, RAM disks, and device-mapper / RAID /
#: network block devices whose I/O is already counted on the disks beneath them.
_VIRTUAL_DISK_PREFIXES = ("loop", "ram", "zram", "dm-", "md", "nbd")


@dataclass(frozen=True)
class Filesystem:
    device: str = field(doc="What is mounted: a device (/dev/sda2), a server share (host:/export) or a name (tmpfs)")
    mount_point: str = field(doc="Where it is mounted; for bind mounts of one filesystem, the shortest path")
    fs_type: str = field(doc="Filesystem type as the kernel names it (ext4, btrfs, vfat, tmpfs, nfs4, NTFS, ...)")
    read_only: bool = field(doc="Mounted read-only (the mount or the filesystem itself has the 'ro' option)")
    network: bool = field(doc="Served over the network (NFS, SMB, SSHFS, ...): listed but its space not measured")
    total_bytes: int | None = field(unit="bytes", doc="Size of the filesystem (None when not measured)")
    used_bytes: int | None = field(unit="bytes", doc="Space in use, as df counts it (None when not measured)")
    free_bytes: int | None = field(
        unit="bytes",
        doc="Space an ordinary user can still write (statvfs f_bavail); less than total minus used when the "
        "filesystem reserves blocks for root (ext4: 5 % by default). None when not measured",
    )
    used_percent: float | None = field(
        unit="%",
        doc="used / (used + free) as df and file managers show it, so reserved blocks do not count as free "
        "(None when not measured or empty)",
    )
    inodes_total: int | None = field(
        unit="inodes",
        doc="File slots (inodes) of the filesystem; None when not measured or when the filesystem has no fixed "
        "number (btrfs, vfat, many network and FUSE filesystems report 0)",
    )
    inodes_free: int | None = field(unit="inodes", doc="Free inodes (None: as inodes_total)")
    inodes_used_percent: float | None = field(unit="%", doc="Inodes in use as a share of inodes_total")
    bind_count: int = field(
        unit="mounts",
        doc="How many further mount points show this same filesystem (bind mounts, btrfs subvolumes); 0 if none",
    )
    other_mount_points: tuple[str, ...] = field(
        doc=f"Those further mount points (at most {MAX_OTHER_MOUNT_POINTS})"
    )
    usage_error: str | None = field(
        doc="Why space was not measured: network filesystem, no answer in time, or the OS error; None when measured"
    )


@dataclass(frozen=True)
class DiskIO:
    name: str = field(doc="Kernel name of the physical disk (sda, nvme0n1, PhysicalDrive0, disk0)")
    read_count: int = field(unit="operations", doc="Read operations completed since boot")
    write_count: int = field(unit="operations", doc="Write operations completed since boot")
    read_bytes: int = field(unit="bytes", doc="Bytes read since boot")
    write_bytes: int = field(unit="bytes", doc="Bytes written since boot")
    busy_ms: int | None = field(
        unit="ms", doc="Time the disk had I/O in flight since boot (Linux, FreeBSD); None where not counted"
    )


@dataclass(frozen=True)
class DisksResult:
    filesystems: tuple[Filesystem, ...] = field(
        doc=f"Mounted filesystems that matter to a user, in mount order, at most {MAX_FILESYSTEMS}"
    )
    filesystems_total: int = field(unit="filesystems", doc="How many there were before the cap")
    disks: tuple[DiskIO, ...] = field(
        doc=f"I/O counters per physical disk (loop, RAM, device-mapper and RAID devices left out), at most "
        f"{MAX_DISKS}"
    )
    disks_total: int = field(unit="disks", doc="How many physical disks there were before the cap")
    source: str = field(doc="Where the mount table came from: /proc/self/mountinfo, /proc/self/mounts or psutil")


RESULT = DisksResult


class Mount(NamedTuple):
    """One line of the mount table, before filtering."""

    device: str
    mount_point: str
    fs_type: str
    options: frozenset[str]
    #: ``major:minor`` of the filesystem (mountinfo), or None when the table does not give it
    dev_id: str | None = None

    @property
    def read_only(self) -> bool:
        return "ro" in self.options


def _unescape(text: str) -> str:
    r"""Undo the kernel's octal escapes in mount tables (``\040`` is a space)."""
    if "\\" not in text:
        return text
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and text[i + 1 : i + 4].isdigit() and len(text[i + 1 : i + 4]) == 3:
            out.append(chr(int(text[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def parse_mountinfo(text: str) -> list[Mount]:
    """Parse ``/proc/<pid>/mountinfo``; the mount options are the mount's and the superblock's together."""
    mounts = []
    for line in text.splitlines():
        fields = line.split()
        try:
            sep = fields.index("-", 6)
        except ValueError:
            continue  # not a mountinfo line
        if len(fields) < sep + 3:
            continue
        options = set(fields[5].split(","))
        if len(fields) > sep + 3:
            options.update(fields[sep + 3].split(","))
        mounts.append(
            Mount(
                device=_unescape(fields[sep + 2]),
                mount_point=_unescape(fields[4]),
                fs_type=_unescape(fields[sep + 1]),
                options=frozenset(options),
                dev_id=fields[2],
            )
        )
    return mounts


def parse_mounts(text: str) -> list[Mount]:
    """Parse ``/proc/mounts`` (fstab format), the fallback when mountinfo cannot be read."""
    mounts = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        mounts.append(
            Mount(_unescape(fields[0]), _unescape(fields[1]), _unescape(fields[2]), frozenset(fields[3].split(",")))
        )
    return mounts


def _under(path: str, prefixes: Iterable[str]) -> bool:
    return any(path == p or path.startswith(p + "/") for p in prefixes)


def relevant(m: Mount) -> bool:
    """Whether a mount is one a user cares about (see the module docstring for the policy)."""
    if m.fs_type == "tmpfs":
        return not _under(m.mount_point, _RUNTIME_PREFIXES)
    if m.fs_type == "overlay":
        return m.mount_point == "/"
    if m.fs_type == "squashfs":
        return not _under(m.mount_point, _SNAP_PREFIXES)
    if m.fs_type in PSEUDO_FS or m.fs_type.startswith("cgroup"):
        return False
    return True


def select(mounts: Sequence[Mount]) -> list[tuple[Mount, list[str]]]:
    """The relevant mounts, one per filesystem: bind mounts of the same device folded into the one with the
    shortest mount point, with the others' mount points. Mount order is kept (the kept mount's place)."""
    groups: dict[object, list[Mount]] = {}
    for m in mounts:
        if not relevant(m):
            continue
        # Without a device number (old /proc/mounts fallback) only real device paths can be matched.
        key: object = m.dev_id or (m.device if m.device.startswith("/") else ("mount", m.mount_point))
        groups.setdefault(key, []).append(m)
    chosen = []
    for group in groups.values():
        keep = min(group, key=lambda m: (len(m.mount_point), m.mount_point))
        others = [m.mount_point for m in group if m is not keep]
        # a filesystem mounted twice at the same place (over-mounts) is one mount point to the user
        chosen.append((keep, sorted(set(others) - {keep.mount_point})))
    order = {id(m): i for i, m in enumerate(mounts)}
    chosen.sort(key=lambda pair: order[id(pair[0])])
    return chosen


class Space(NamedTuple):
    """What one filesystem answers about its space (a subset of statvfs, also filled from psutil)."""

    total: int
    used: int
    free: int
    #: inodes; 0 when the filesystem or platform does not count them
    files: int = 0
    files_free: int = 0


def space_statvfs(path: str) -> Space:
    """Space of the filesystem at ``path`` as df computes it (POSIX)."""
    st = os.statvfs(path)
    return Space(
        total=st.f_blocks * st.f_frsize,
        used=max(0, st.f_blocks - st.f_bfree) * st.f_frsize,
        free=st.f_bavail * st.f_frsize,
        files=st.f_files,
        files_free=st.f_ffree,
    )


def space_psutil(path: str) -> Space:
    """Space of the volume at ``path`` from psutil (Windows: no inodes)."""
    u = psutil.disk_usage(path)
    return Space(total=u.total, used=u.used, free=u.free)


def measure_many(
    paths: Sequence[str], timeout: float, how: Callable[[str], Space] = space_statvfs
) -> dict[str, Space | str]:
    """``how(path)`` for each path, all in parallel daemon threads, within ``timeout`` seconds together.

    Each value is the answer, or the reason there is none (the OS error, or that it did not answer in time).
    """
    answers: queue.Queue[tuple[str, Space | str]] = queue.Queue()

    def one(path: str) -> None:
        try:
            answers.put((path, how(path)))
        except OSError as exc:
            answers.put((path, exc.strerror or str(exc)))

    unique = list(dict.fromkeys(paths))
    for path in unique:
        threading.Thread(target=one, args=(path,), name="disks-statvfs", daemon=True).start()
    out: dict[str, Space | str] = {}
    deadline = time.monotonic() + timeout
    while len(out) < len(unique):
        try:
            path, value = answers.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            break
        out[path] = value
    for path in unique:
        out.setdefault(path, f"no answer within {timeout:g} s")
    return out


def _percent(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole > 0 else None


def is_network(fs_type: str) -> bool:
    return fs_type.lower() in NETWORK_FS or fs_type.endswith("(remote)") or fs_type == "remote"


def filesystem(m: Mount, others: Sequence[str], space: Space | str | None) -> Filesystem:
    """One listed filesystem from its mount and its space answer (None: not measured, network)."""
    total = used = free = inodes_total = inodes_free = None
    used_pct = inodes_pct = None
    error: str | None
    if space is None:
        error = "network filesystem: space not measured (a dead server could hang the check)"
    elif isinstance(space, str):
        error = space
    else:
        error = None
        total, used, free = space.total, space.used, space.free
        used_pct = _percent(used, used + free)
        if space.files > 0:
            inodes_total, inodes_free = space.files, space.files_free
            inodes_pct = _percent(space.files - space.files_free, space.files)
    return Filesystem(
        device=m.device,
        mount_point=m.mount_point,
        fs_type=m.fs_type,
        read_only=m.read_only,
        network=is_network(m.fs_type),
        total_bytes=total,
        used_bytes=used,
        free_bytes=free,
        used_percent=used_pct,
        inodes_total=inodes_total,
        inodes_free=inodes_free,
        inodes_used_percent=inodes_pct,
        bind_count=len(others),
        other_mount_points=tuple(others[:MAX_OTHER_MOUNT_POINTS]),
        usage_error=error,
    )


def measure(
    chosen: Sequence[tuple[Mount, Sequence[str]]],
    timeout: float = STATVFS_TIMEOUT,
    how: Callable[[str], Space] = space_statvfs,
) -> list[Filesystem]:
    """Measure every chosen mount except network ones, and build the listed filesystems."""
    local = [m.mount_point for m, _ in chosen if not is_network(m.fs_type)]
    spaces = measure_many(local, timeout, how) if local else {}
    return [filesystem(m, others, spaces.get(m.mount_point)) for m, others in chosen]


def _linux_mounts() -> tuple[list[Mount], str]:
    for path, parse in (("/proc/self/mountinfo", parse_mountinfo), ("/proc/self/mounts", parse_mounts)):
        try:
            with open(path, encoding="utf-8", errors="surrogateescape") as fh:
                return parse(fh.read()), path
        except OSError:
            continue
    raise ProbeError("cannot read the mount table (/proc/self/mountinfo, /proc/self/mounts)")


def _psutil_mounts(ctx: ProbeContext) -> list[Mount]:
    mounts = []
    for p in psutil.disk_partitions(all=False):
        mp = p.mountpoint
        if ctx.platform == MACOS and mp.startswith("/System/Volumes/") and mp != "/System/Volumes/Data":
            continue  # the sealed system's helper volumes (VM, Preboot, Update, ...)
        opts = frozenset(o.strip() for o in p.opts.split(","))
        fs_type = p.fstype or "unknown"
        if ctx.platform == WINDOWS and "cdrom" in opts and not p.fstype:
            continue  # an empty optical drive
        if "remote" in opts and fs_type.lower() not in NETWORK_FS:
            fs_type = f"{fs_type} (remote)" if p.fstype else "remote"
        mounts.append(Mount(p.device, mp, fs_type, opts, dev_id=p.device or mp))
    return mounts


def _disk_io(ctx: ProbeContext) -> tuple[list[DiskIO], int]:
    try:
        counters = psutil.disk_io_counters(perdisk=True) or {}
    except (OSError, RuntimeError):
        return [], 0
    whole: set[str] | None = None
    if ctx.platform == LINUX:
        try:
            whole = set(os.listdir("/sys/block"))  # partitions are not listed there
        except OSError:
            whole = None
    disks = []
    for name, c in counters.items():
        if name.startswith(_VIRTUAL_DISK_PREFIXES) or (whole is not None and name not in whole):
            continue
        busy = getattr(c, "busy_time", None)
        disks.append(DiskIO(name, c.read_count, c.write_count, c.read_bytes, c.write_bytes, busy))
    return disks, len(disks)


def collect(ctx: ProbeContext) -> DisksResult:
    if ctx.platform == LINUX:
        mounts, source = _linux_mounts()
    elif ctx.platform in (WINDOWS, MACOS):
        mounts, source = _psutil_mounts(ctx), "psutil"
    else:
        raise Unsupported(f"the disks probe is not supported on {ctx.platform}")
    if ctx.platform == LINUX:
        chosen = select(mounts)
    else:
        chosen = [(m, []) for m in mounts]
    how = space_psutil if ctx.platform == WINDOWS else space_statvfs
    listed = measure(chosen[:MAX_FILESYSTEMS], STATVFS_TIMEOUT, how)
    disks, disks_total = _disk_io(ctx)
    return DisksResult(
        filesystems=tuple(listed),
        filesystems_total=len(chosen),
        disks=tuple(disks[:MAX_DISKS]),
        disks_total=disks_total,
        source=source,
    )
