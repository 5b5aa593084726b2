"""Software: installed packages and what changed recently ("did anything change?").

The package manager's own database is read directly rather than through its tools, for speed:

* Debian, Ubuntu: ``/var/lib/dpkg/status`` for the installed packages, ``/var/log/dpkg.log`` (and
  ``dpkg.log.1`` when the window reaches back before it) for installs, upgrades and removals;
* RPM systems (Fedora, RHEL, SUSE): ``rpm -qa`` (the database is binary), recent by install time;
* Arch: ``/var/lib/pacman/local/*/desc``, recent by install date;
* Windows: the Uninstall keys of the registry (machine 64-bit and 32-bit views, and the user's);
* macOS: the application bundles in ``/Applications`` and ``~/Applications`` with their Info.plist version.

Flatpak apps and snaps are counted from their directories when those exist.
"""

from __future__ import annotations

import importlib
import os
import plistlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from desktop.diagnostics.base import LINUX, MACOS, WINDOWS, Argument, ProbeContext, ProbeError, Unsupported, field

NAME = "software"
TITLE = "Software"

#: What an engineer may set for one remote command.
ARGUMENTS = (
    Argument("software.recent_days", "number", "Packages installed, upgraded or removed in this many days are "
             "listed as recent", unit="d", minimum=0, maximum=365),
)

DPKG_STATUS = Path("/var/lib/dpkg/status")
DPKG_LOGS = (Path("/var/log/dpkg.log"), Path("/var/log/dpkg.log.1"))
RPM_DBS = (Path("/var/lib/rpm"), Path("/usr/lib/sysimage/rpm"))
PACMAN_LOCAL = Path("/var/lib/pacman/local")
FLATPAK_SYSTEM = Path("/var/lib/flatpak/app")
SNAPS = Path("/var/lib/snapd/snaps")

#: At most this many installed packages are listed; package_count counts them all.
MAX_PACKAGES = 10_000
#: At most this many recent changes are listed, newest first.
MAX_RECENT = 200
#: At most this many packages in an unfinished dpkg state are named.
MAX_UNFINISHED = 50
#: Only the end of a very large dpkg.log is read (logrotate normally keeps it far smaller).
MAX_LOG_BYTES = 8 * 1024 * 1024
#: The package changes dpkg.log records that matter to a user; configure, trigproc, status are steps of these.
DPKG_ACTIONS = frozenset({"install", "upgrade", "remove", "purge"})
#: dpkg states that mean an installation or removal was interrupted and never finished.
UNFINISHED_STATES = frozenset({"half-installed", "unpacked", "half-configured", "triggers-awaiting",
                               "triggers-pending"})


@dataclass(frozen=True)
class Package:
    name: str = field(doc="Package name (dpkg, rpm, pacman), application name (Windows, macOS)")
    version: str = field(doc="Installed version as the package manager writes it ('' when it does not say)")
    arch: str = field(
        doc="Architecture (amd64, x86_64, all, noarch); on Windows the registry view (x64, x86, user); '' on macOS"
    )


@dataclass(frozen=True)
class PackageChange:
    time: str = field(doc="When, ISO 8601 with the UTC offset (dpkg logs local time; Windows gives only a date)")
    action: str = field(
        doc="install, upgrade, remove or purge (dpkg); rpm, pacman, Windows and macOS only know when a "
        "package was last installed or updated, reported as install"
    )
    name: str = field(doc="Package name; dpkg adds the architecture (libc6:amd64)")
    old_version: str | None = field(doc="Version before the change (None for a new install or when not known)")
    new_version: str | None = field(doc="Version after the change (None for remove and purge)")


@dataclass(frozen=True)
class SoftwareResult:
    manager: str = field(
        doc="Where the list comes from: dpkg, rpm, pacman, none (Linux without any of these), "
        "windows-registry, macos-applications"
    )
    packages: tuple[Package, ...] = field(
        doc=f"Installed packages sorted by name, at most {MAX_PACKAGES} (dpkg: every package whose status is "
        "installed, including held ones)"
    )
    package_count: int = field(unit="packages", doc="How many packages are installed, including any beyond the list")
    unfinished: tuple[str, ...] = field(
        doc="dpkg only: packages left half-installed, unpacked, half-configured or awaiting triggers, i.e. an "
        f"interrupted installation that 'dpkg --configure -a' finishes; at most {MAX_UNFINISHED}"
    )
    recent_days: float = field(unit="days", doc="How far back recent changes are looked for (setting)")
    recent: tuple[PackageChange, ...] = field(
        doc=f"Package changes within recent_days, newest first, at most {MAX_RECENT}"
    )
    recent_total: int = field(unit="changes", doc="How many changes the window holds, including any beyond the list")
    recent_packages: int = field(unit="packages", doc="How many different packages changed within the window")
    flatpak_apps: int | None = field(
        unit="apps", doc="Flatpak applications installed system-wide and for this user (None: no flatpak)"
    )
    snaps: int | None = field(unit="snaps", doc="Snap packages installed (None: no snapd)")


RESULT = SoftwareResult


# -- dpkg ------------------------------------------------------------------------------------------------------


def _value(stanza: str, key: str) -> str:
    """The value of a single-line ``key`` in a dpkg status stanza ('' when absent)."""
    start = stanza.find(f"\n{key}: ")
    if start < 0:
        return ""
    start += len(key) + 3
    end = stanza.find("\n", start)
    return stanza[start:end] if end >= 0 else stanza[start:]


def parse_dpkg_status(text: str) -> tuple[list[Package], list[str]]:
    """Installed packages and unfinished ones from the text of ``/var/lib/dpkg/status``.

    Installed means the third word of Status is ``installed`` (whatever the wanted state: install, hold,
    or deinstall not yet carried out), which is what ``dpkg -l`` lists as ii, hi and ri. Stanzas are
    split on blank lines and only the three needed fields are looked up, which keeps a 16,000-line file
    well under 10 ms.
    """
    installed: list[Package] = []
    unfinished: list[str] = []
    for stanza in text.split("\n\n"):
        stanza = stanza.strip("\n")
        if not stanza.startswith("Package: "):
            continue
        status = _value(stanza, "Status")
        state = status.rpartition(" ")[2]
        end = stanza.find("\n")
        name = stanza[9:end] if end >= 0 else stanza[9:]
        if state == "installed":
            installed.append(Package(name, _value(stanza, "Version"), _value(stanza, "Architecture")))
        elif state in UNFINISHED_STATES:
            unfinished.append(name)
    return installed, unfinished


def parse_dpkg_log(text: str, since: datetime) -> list[PackageChange]:
    """Installs, upgrades, removals and purges in dpkg.log ``text`` at or after ``since``, oldest first.

    ``since`` is naive local time, as dpkg.log is written. A line looks like
    ``2026-11-21 10:00:01 upgrade libc6:amd64 2.36-9+deb12u9 2.36-9+deb12u10``.
    """
    cutoff = since.strftime("%Y-%m-%d %H:%M:%S")
    changes: list[PackageChange] = []
    for line in text[_first_line_from(text, cutoff) :].splitlines():
        if line[:19] < cutoff:
            continue
        parts = line.split(" ")
        if len(parts) != 6 or parts[2] not in DPKG_ACTIONS:
            continue
        day, clock, action, package, old, new = parts
        try:
            when = datetime.fromisoformat(f"{day}T{clock}").astimezone()
        except ValueError:
            continue
        changes.append(
            PackageChange(
                time=when.isoformat(),
                action=action,
                name=package,
                old_version=None if old == "<none>" else old,
                new_version=None if new == "<none>" or action in ("remove", "purge") else new,
            )
        )
    return changes


def _first_line_from(text: str, cutoff: str) -> int:
    """Offset of the first line stamped ``cutoff`` or later, by bisection: dpkg.log only ever grows at the end.

    A line out of order can only make this start a little early or late around it; every line is still
    compared with the cutoff afterwards.
    """
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi) // 2
        start = text.rfind("\n", 0, mid) + 1
        if text[start : start + 19] >= cutoff:
            hi = mid
        else:
            lo = mid + 1
    return text.rfind("\n", 0, lo) + 1


def _read_tail(path: Path, limit: int) -> tuple[str, bool]:
    """The last ``limit`` bytes of ``path`` from a line start, and whether the file was longer than that."""
    with path.open("rb") as fh:
        size = fh.seek(0, os.SEEK_END)
        fh.seek(max(0, size - limit))
        data = fh.read()
    if size > limit:
        data = data[data.find(b"\n") + 1 :]
    return data.decode("utf-8", errors="replace"), size > limit


def dpkg_recent(since: datetime, logs: Iterable[Path]) -> list[PackageChange]:
    """Changes since ``since`` (naive local time) from dpkg.log, then older rotated logs while the window
    reaches back before the start of the newer one."""
    cutoff = since.strftime("%Y-%m-%d %H:%M:%S")
    changes: list[PackageChange] = []
    for path in logs:
        try:
            text, cut = _read_tail(path, MAX_LOG_BYTES)
        except FileNotFoundError:
            break
        except OSError as exc:
            raise ProbeError(f"{path}: cannot read: {exc.strerror or exc}") from exc
        changes = parse_dpkg_log(text, since) + changes
        if cut or (text and text[:19] <= cutoff):  # this file reaches back before the window: done
            break
    return changes


#: The last parse of the dpkg database, by (path, mtime_ns, size): a long-lived process (the agent, the
#: app) re-reads the 2-3 MB file only when dpkg changed it, which saves most of this probe's CPU time.
_STATUS_CACHE: dict[str, tuple[tuple[int, int], tuple[list[Package], list[str]]]] = {}


def _dpkg_status(path: Path) -> tuple[list[Package], list[str]]:
    try:
        st = path.stat()
        stamp = (st.st_mtime_ns, st.st_size)
        cached = _STATUS_CACHE.get(str(path))
        if cached is not None and cached[0] == stamp:
            return list(cached[1][0]), list(cached[1][1])
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise ProbeError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    parsed = parse_dpkg_status(text)
    _STATUS_CACHE[str(path)] = (stamp, parsed)
    return list(parsed[0]), list(parsed[1])


def _dpkg(now: datetime, days: float) -> tuple[list[Package], list[str], list[PackageChange]]:
    installed, unfinished = _dpkg_status(DPKG_STATUS)
    since = (now - timedelta(days=days)).astimezone().replace(tzinfo=None)
    return installed, unfinished, dpkg_recent(since, DPKG_LOGS)


# -- rpm and pacman --------------------------------------------------------------------------------------------


def parse_rpm_qa(text: str, since_epoch: float) -> tuple[list[Package], list[PackageChange]]:
    """Output of ``rpm -qa --qf '%{NAME}\\t%{VERSION}-%{RELEASE}\\t%{ARCH}\\t%{INSTALLTIME}\\n'``."""
    installed: list[Package] = []
    recent: list[PackageChange] = []
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) != 4:
            continue
        name, version, arch, installtime = parts
        arch = "" if arch == "(none)" else arch
        installed.append(Package(name, version, arch))
        try:
            when = float(installtime)
        except ValueError:
            continue
        if when >= since_epoch:
            recent.append(PackageChange(_iso(when), "install", name, None, version))
    return installed, recent


def parse_pacman_desc(text: str) -> dict[str, str]:
    """The first value of each ``%FIELD%`` section of a pacman local database ``desc`` file."""
    fields: dict[str, str] = {}
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("%") and line.endswith("%") and i + 1 < len(lines):
            fields[line.strip("%")] = lines[i + 1]
    return fields


def _pacman(since_epoch: float) -> tuple[list[Package], list[PackageChange]]:
    installed: list[Package] = []
    recent: list[PackageChange] = []
    try:
        entries = list(os.scandir(PACMAN_LOCAL))
    except OSError as exc:
        raise ProbeError(f"{PACMAN_LOCAL}: cannot list: {exc.strerror or exc}") from exc
    for entry in entries:
        try:
            desc = parse_pacman_desc(Path(entry.path, "desc").read_text(encoding="utf-8", errors="replace"))
        except OSError:
            continue  # ALPM_DB_VERSION and other plain files
        name = desc.get("NAME")
        if not name:
            continue
        version = desc.get("VERSION", "")
        installed.append(Package(name, version, desc.get("ARCH", "")))
        try:
            when = float(desc.get("INSTALLDATE", ""))
        except ValueError:
            continue
        if when >= since_epoch:
            recent.append(PackageChange(_iso(when), "install", name, None, version))
    return installed, recent


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).astimezone().isoformat()


# -- flatpak and snap ------------------------------------------------------------------------------------------


def _count_dirs(paths: Iterable[Path]) -> int | None:
    """Subdirectories of ``paths`` (those that exist), or None when none of them exists."""
    names: set[str] = set()
    seen = False
    for path in paths:
        try:
            names.update(e.name for e in os.scandir(path) if e.is_dir())
            seen = True
        except OSError:
            continue
    return len(names) if seen else None


def _snaps() -> int | None:
    try:
        files = os.listdir(SNAPS)
    except OSError:
        return None
    # one file per revision (firefox_3252.snap, firefox_3290.snap): count names
    return len({f.rsplit("_", 1)[0] for f in files if f.endswith(".snap")})


# -- Windows and macOS -----------------------------------------------------------------------------------------


_UNINSTALL = r"SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall"


def _windows(since: date) -> tuple[list[Package], list[PackageChange]]:
    winreg: Any = importlib.import_module("winreg")
    views = (
        (winreg.HKEY_LOCAL_MACHINE, winreg.KEY_WOW64_64KEY, "x64"),
        (winreg.HKEY_LOCAL_MACHINE, winreg.KEY_WOW64_32KEY, "x86"),
        (winreg.HKEY_CURRENT_USER, 0, "user"),
    )
    installed: dict[tuple[str, str], Package] = {}
    recent: list[PackageChange] = []
    for hive, view, arch in views:
        try:
            root = winreg.OpenKey(hive, _UNINSTALL, 0, winreg.KEY_READ | view)
        except OSError:
            continue
        with root:
            for i in range(winreg.QueryInfoKey(root)[0]):
                try:
                    with winreg.OpenKey(root, winreg.EnumKey(root, i)) as key:
                        values = {}
                        for value_name in ("DisplayName", "DisplayVersion", "InstallDate", "SystemComponent",
                                           "ParentKeyName"):
                            try:
                                values[value_name] = winreg.QueryValueEx(key, value_name)[0]
                            except OSError:
                                pass
                except OSError:
                    continue
                name = str(values.get("DisplayName") or "").strip()
                # updates (ParentKeyName) and hidden parts (SystemComponent=1) are not what Programs lists
                if not name or values.get("SystemComponent") == 1 or values.get("ParentKeyName"):
                    continue
                version = str(values.get("DisplayVersion") or "")
                if (name, version) in installed:
                    continue
                installed[(name, version)] = Package(name, version, arch)
                try:
                    day = datetime.strptime(str(values.get("InstallDate", "")), "%Y%m%d").date()
                except ValueError:
                    continue
                if day >= since:
                    recent.append(PackageChange(day.isoformat(), "install", name, None, version))
    return list(installed.values()), recent


def _macos(home: str | None, since_epoch: float) -> tuple[list[Package], list[PackageChange]]:
    installed: list[Package] = []
    recent: list[PackageChange] = []
    roots = [Path("/Applications")] + ([Path(home, "Applications")] if home else [])
    for root in roots:
        try:
            bundles = [e for e in os.scandir(root) if e.name.endswith(".app")]
        except OSError:
            continue
        for bundle in bundles:
            version = ""
            try:
                with open(Path(bundle.path, "Contents", "Info.plist"), "rb") as fh:
                    info = plistlib.load(fh)
                version = str(info.get("CFBundleShortVersionString") or info.get("CFBundleVersion") or "")
            except (OSError, ValueError, plistlib.InvalidFileException):
                pass
            name = bundle.name[: -len(".app")]
            installed.append(Package(name, version, ""))
            try:
                changed = bundle.stat().st_mtime  # the bundle is replaced as a whole on install or update
            except OSError:
                continue
            if changed >= since_epoch:
                recent.append(PackageChange(_iso(changed), "install", name, None, version or None))
    return installed, recent


# -- the probe -------------------------------------------------------------------------------------------------


def _linux_manager(ctx: ProbeContext) -> str:
    if DPKG_STATUS.is_file() and DPKG_STATUS.stat().st_size > 0:
        return "dpkg"
    if any(p.is_dir() for p in RPM_DBS) and ctx.which("rpm"):
        return "rpm"
    if PACMAN_LOCAL.is_dir():
        return "pacman"
    return "none"


def _rpm(ctx: ProbeContext, since_epoch: float) -> tuple[list[Package], list[PackageChange]]:
    fmt = "%{NAME}\\t%{VERSION}-%{RELEASE}\\t%{ARCH}\\t%{INSTALLTIME}\\n"
    out = ctx.run(["rpm", "-qa", "--qf", fmt], timeout=5, check=True)
    return parse_rpm_qa(out.stdout, since_epoch)


def collect(ctx: ProbeContext) -> SoftwareResult:
    days = max(0.0, float(ctx.setting("software.recent_days", 14.0)))
    now = datetime.now(tz=UTC)
    since_epoch = (now - timedelta(days=days)).timestamp()
    unfinished: list[str] = []
    flatpaks: int | None = None
    snaps: int | None = None
    if ctx.platform == LINUX:
        manager = _linux_manager(ctx)
        installed: list[Package] = []
        recent: list[PackageChange] = []
        if manager == "dpkg":
            installed, unfinished, recent = _dpkg(now, days)
        elif manager == "rpm":
            installed, recent = _rpm(ctx, since_epoch)
        elif manager == "pacman":
            installed, recent = _pacman(since_epoch)
        home = ctx.environ.get("HOME")
        user_flatpak = [Path(home, ".local/share/flatpak/app")] if home else []
        flatpaks = _count_dirs([FLATPAK_SYSTEM, *user_flatpak])
        snaps = _snaps()
    elif ctx.platform == WINDOWS:
        manager = "windows-registry"
        installed, recent = _windows((now - timedelta(days=days)).astimezone().date())
    elif ctx.platform == MACOS:
        manager = "macos-applications"
        installed, recent = _macos(ctx.environ.get("HOME"), since_epoch)
    else:
        raise Unsupported(f"software is not supported on {ctx.platform}")

    installed.sort(key=lambda p: (p.name.lower(), p.arch))
    recent.reverse()  # logs are oldest first: changes in the same second stay newest first
    recent.sort(key=lambda c: _sort_time(c.time), reverse=True)
    return SoftwareResult(
        manager=manager,
        packages=tuple(installed[:MAX_PACKAGES]),
        package_count=len(installed),
        unfinished=tuple(sorted(unfinished)[:MAX_UNFINISHED]),
        recent_days=days,
        recent=tuple(recent[:MAX_RECENT]),
        recent_total=len(recent),
        recent_packages=len({c.name for c in recent}),
        flatpak_apps=flatpaks,
        snaps=snaps,
    )


def _sort_time(iso: str) -> float:
    """A change's time as a number to sort by (Windows dates count as local midnight)."""
    try:
        when = datetime.fromisoformat(iso)
    except ValueError:
        return 0.0
    if when.tzinfo is None:
        when = when.astimezone()
    return when.timestamp()

