"""System: operating system, host, boot time, time zone, locale, virtualisation, clock sync, pending restart.

On Linux everything comes from small files read directly (``/etc/os-release``, ``/proc``, ``/sys``,
``/run``); the only program ever started is ``timedatectl``, and only when systemd runs the machine and
has not already left the answer in ``/run``. There is no DNS lookup anywhere: the fully qualified name is
taken from the host name itself or from ``/etc/hosts``, never from ``socket.getfqdn``, which asks the
resolver and can block for seconds on a broken network.

All file locations are relative to :data:`ROOT`, so the parsing can be tested on a fake tree.
"""

from __future__ import annotations

import datetime as dt
import locale
import os
import platform
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import psutil

from desktop.diagnostics.base import LINUX, MACOS, WINDOWS, ProbeContext, ProbeError, Unsupported, field

NAME = "system"
TITLE = "System"

#: The file system root the Linux/macOS file readers look under (tests point it at a fake tree).
ROOT = Path("/")
#: At most this many package names are listed as asking for a restart.
MAX_REBOOT_PACKAGES = 50
#: Seconds ``timedatectl`` may take before the clock sync state is recorded as unknown.
TIMEDATECTL_TIMEOUT = 1.0

_WIN_REBOOT_KEYS = (
    (r"SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending",
     "Windows component servicing is waiting for a restart"),
    (r"SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired",
     "Windows Update is waiting for a restart"),
)


@dataclass(frozen=True)
class SystemResult:
    os_family: str = field(doc="Platform family: linux, windows or macos")
    os_name: str = field(
        doc="Operating system as a person names it: Linux PRETTY_NAME from os-release ('Debian GNU/Linux 12 "
        "(bookworm)'), 'Windows 11 Professional', 'macOS 14.4.1'"
    )
    os_version: str = field(
        doc="Version number: Linux os-release VERSION_ID ('' on rolling releases), Windows build "
        "('10.0.22631'), macOS product version"
    )
    distribution_id: str = field(
        doc="Linux os-release ID (debian, ubuntu, fedora; 'linux' when unnamed); 'windows' or 'macos' elsewhere"
    )
    edition: str = field(doc="Windows edition (Professional, Enterprise, ...); Linux os-release VARIANT_ID; else ''")
    kernel_release: str = field(doc="Kernel release: uname -r on Linux and macOS (Darwin), the build on Windows")
    architecture: str = field(doc="Machine architecture (x86_64, aarch64, AMD64, arm64)")
    hostname: str = field(doc="Host name as the machine knows itself (no DNS lookup)")
    fqdn: str | None = field(
        doc="Fully qualified name when known without asking DNS: the host name if it has dots, else the "
        "canonical name /etc/hosts gives it, the DNS name Windows stores; None when not known cheaply"
    )
    boot_time: str = field(doc="When the machine last started, ISO 8601 in UTC (by this machine's clock)")
    uptime_seconds: float = field(
        unit="s", doc="Time since the last start (Linux /proc/uptime, not moved by clock changes; in a "
        "container this is the host's uptime)"
    )
    timezone: str = field(
        doc="Time zone name: TZ if set, else the zone /etc/localtime links to or /etc/timezone names (Linux, "
        "macOS), the registry's TimeZoneKeyName (Windows); the abbreviation (CET) as last resort"
    )
    utc_offset_minutes: int = field(unit="min", doc="Current offset of local time from UTC (east positive)")
    lang: str = field(doc="The LANG environment variable ('' when unset)")
    lc_all: str = field(doc="The LC_ALL environment variable, which overrides all other locale settings ('' unset)")
    locale: str = field(
        doc="Character-type locale in effect for this process (en_US.UTF-8, C.UTF-8); the user's locale "
        "name (en-US) on Windows"
    )
    encoding: str = field(doc="Preferred text encoding of the locale (UTF-8, cp1252)")
    virtualization: str = field(
        doc="What the system runs in, in short: the container kind when in one (docker, podman, lxc, wsl, ...), "
        "else the hypervisor (kvm, qemu, vmware, oracle, microsoft, xen, ..., 'vm' when the CPU reports a "
        "hypervisor of unknown kind), 'none' on bare metal, 'unknown' when the platform does not tell"
    )
    container: str = field(
        doc="Container kind (docker, podman, lxc, kubernetes, systemd-nspawn, wsl, openvz), 'none', or 'unknown'"
    )
    vm: str = field(doc="Hypervisor kind, 'vm' (kind unknown), 'none', or 'unknown'; see virtualization")
    ntp_synchronized: bool | None = field(
        doc="Whether the clock is kept in sync by NTP, where cheaply known (Linux with systemd: timesyncd's flag "
        "or timedatectl); None when unknown, which is not the same as False"
    )
    pending_reboot: bool | None = field(
        doc="Whether the system waits for a restart to finish updates: Linux /var/run/reboot-required "
        "(Debian, Ubuntu) or a running kernel whose files were removed by an upgrade; Windows servicing and "
        "Windows Update flags. None when the platform has no flag this probe knows (macOS, most non-Debian "
        "distributions with an intact kernel)"
    )
    reboot_reasons: tuple[str, ...] = field(doc="Why a restart is pending, one short sentence per cause")
    reboot_packages: tuple[str, ...] = field(
        doc=f"Packages that asked for the restart (Linux reboot-required.pkgs), at most {MAX_REBOOT_PACKAGES}"
    )
    python_version: str = field(doc="Version of the Python running this collector")
    collected_at: str = field(
        doc="This machine's clock when the probe ran, ISO 8601 in UTC with milliseconds: compare with a "
        "server's clock to see skew"
    )


RESULT = SystemResult


# -- small readers ----------------------------------------------------------------------------------


def _read(path: Path, limit: int = 64 * 1024) -> str | None:
    """The text of a small file, or None when it cannot be read (missing, no permission, a directory)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read(limit)
    except OSError:
        return None


def _iso(timestamp: float, timespec: str = "seconds") -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).isoformat(timespec=timespec)


# -- operating system --------------------------------------------------------------------------------


def parse_os_release(text: str) -> dict[str, str]:
    """Parse os-release(5) text: shell-style ``KEY=value`` lines, values optionally quoted, with escapes."""
    out: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.strip()
        if not key.replace("_", "").isalnum():
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            quote, value = value[0], value[1:-1]
            if quote == '"':
                # the only escapes the format allows inside double quotes
                for esc in ('\\"', "\\\\", "\\$", "\\`"):
                    value = value.replace(esc, esc[1])
        out[key] = value
    return out


def read_os_release(root: Path = ROOT) -> dict[str, str]:
    """The os-release fields of the system under ``root`` (``/etc`` first, then ``/usr/lib``); {} if absent."""
    for rel in ("etc/os-release", "usr/lib/os-release"):
        text = _read(root / rel)
        if text is not None:
            return parse_os_release(text)
    return {}


def _linux_os(root: Path) -> tuple[str, str, str, str]:
    info = read_os_release(root)
    name = info.get("PRETTY_NAME") or " ".join(v for v in (info.get("NAME"), info.get("VERSION")) if v) or "Linux"
    return name, info.get("VERSION_ID", ""), info.get("ID", "linux") or "linux", info.get("VARIANT_ID", "")


def _windows_os() -> tuple[str, str, str, str]:
    release, version, _csd, _ptype = platform.win32_ver()
    edition = platform.win32_edition() or ""
    try:
        build = int(version.split(".")[2])
    except (IndexError, ValueError):
        build = 0
    if release == "10" and build >= 22000:  # Windows 11 still calls itself 10 to old APIs
        release = "11"
    return " ".join(p for p in ("Windows", release, edition) if p), version, "windows", edition


def _macos_os() -> tuple[str, str, str, str]:
    version = platform.mac_ver()[0]
    return f"macOS {version}".strip(), version, "macos", ""


# -- host names --------------------------------------------------------------------------------------


def fqdn_from_hosts(hostname: str, hosts_text: str) -> str | None:
    """The fully qualified name an /etc/hosts text gives ``hostname``, as the resolver would, without DNS.

    A line naming the host (as any of its names, or as the first label of its canonical name) whose names
    include one that starts with ``hostname.`` gives that name, e.g. ``127.0.1.1 pc7.corp.example pc7``.
    """
    want = hostname.lower()
    for raw in hosts_text.splitlines():
        fields = raw.split("#", 1)[0].split()
        if len(fields) < 2:
            continue
        names = [n.lower() for n in fields[1:]]
        if want not in names and names[0].split(".", 1)[0] != want:
            continue
        for original, name in zip(fields[1:], names):
            if name.startswith(want + ".") and not name.endswith("."):
                return original
    return None


def _fqdn(ctx: ProbeContext, hostname: str, root: Path) -> str | None:
    if "." in hostname:
        return hostname
    if ctx.platform == WINDOWS:
        return _windows_dns_name()
    text = _read(root / "etc/hosts")
    return fqdn_from_hosts(hostname, text) if text else None


def _windows_dns_name() -> str | None:
    import ctypes

    size = ctypes.c_ulong(256)
    buf = ctypes.create_unicode_buffer(size.value)
    computer_name_dns_fully_qualified = 3
    windll = getattr(ctypes, "windll", None)
    if windll is None or not windll.kernel32.GetComputerNameExW(
        computer_name_dns_fully_qualified, buf, ctypes.byref(size)
    ):
        return None
    return buf.value or None


# -- time --------------------------------------------------------------------------------------------


def _zone_from_path(path: str) -> str | None:
    if "zoneinfo/" not in path:
        return None
    zone = path.split("zoneinfo/", 1)[1]
    for prefix in ("posix/", "right/"):
        zone = zone.removeprefix(prefix)
    return zone or None


def timezone_name(root: Path, environ: Mapping[str, str]) -> str:
    """The time zone's name on Linux and macOS: TZ, else /etc/localtime's link target, else /etc/timezone."""
    tz = environ.get("TZ", "").lstrip(":")
    if tz:
        return _zone_from_path(tz) or tz
    try:
        zone = _zone_from_path(os.readlink(root / "etc/localtime"))
    except OSError:
        zone = None
    if zone:
        return zone
    text = _read(root / "etc/timezone")
    if text and text.strip():
        return text.strip().splitlines()[0]
    return time.tzname[time.localtime().tm_isdst > 0]


def _windows_timezone() -> str:
    try:
        import winreg  # type: ignore[import-not-found,unused-ignore]

        key = winreg.OpenKey(  # type: ignore[attr-defined,unused-ignore]
            winreg.HKEY_LOCAL_MACHINE,  # type: ignore[attr-defined,unused-ignore]
            r"SYSTEM\CurrentControlSet\Control\TimeZoneInformation",
        )
        return str(winreg.QueryValueEx(key, "TimeZoneKeyName")[0])  # type: ignore[attr-defined,unused-ignore]
    except OSError:
        return time.tzname[0]


def _utc_offset_minutes() -> int:
    offset = dt.datetime.now().astimezone().utcoffset()
    return int(offset.total_seconds() // 60) if offset is not None else 0


def _uptime(ctx: ProbeContext, root: Path, boot: float) -> float:
    if ctx.platform == LINUX:
        text = _read(root / "proc/uptime")
        if text:
            try:
                return round(float(text.split()[0]), 1)
            except (IndexError, ValueError):
                pass
    return round(max(0.0, time.time() - boot), 1)


# -- locale ------------------------------------------------------------------------------------------


def _locale_name(ctx: ProbeContext) -> str:
    if ctx.platform == WINDOWS:
        import ctypes

        windll = getattr(ctypes, "windll", None)
        if windll is not None:
            buf = ctypes.create_unicode_buffer(85)  # LOCALE_NAME_MAX_LENGTH
            if windll.kernel32.GetUserDefaultLocaleName(buf, len(buf)):
                return buf.value
    # setlocale with no value only asks; getlocale() would rewrite C.UTF-8 as en_US.UTF-8 (a Python alias quirk)
    try:
        return locale.setlocale(locale.LC_CTYPE)
    except locale.Error:
        return ""


# -- virtualisation -----------------------------------------------------------------------------------

#: Container markers in PID 1's cgroup paths, checked in this order.
_CGROUP_MARKERS = (("kubepods", "kubernetes"), ("libpod", "podman"), ("docker", "docker"), ("lxc", "lxc"))

#: DMI vendor/product strings of hypervisors (as systemd-detect-virt knows them), checked in this order.
_DMI_VENDORS = (
    ("KVM", "kvm"),
    ("OpenStack", "kvm"),
    ("KubeVirt", "kvm"),
    ("Amazon EC2", "amazon"),
    ("QEMU", "qemu"),
    ("VMware", "vmware"),
    ("VMW", "vmware"),
    ("innotek GmbH", "oracle"),
    ("VirtualBox", "oracle"),
    ("Oracle Corporation", "oracle"),
    ("Xen", "xen"),
    ("Bochs", "bochs"),
    ("Parallels", "parallels"),
    ("BHYVE", "bhyve"),
    ("Hyper-V", "microsoft"),
    ("Apple Virtualization", "apple"),
    ("Google Compute Engine", "google"),
)


def detect_container(root: Path = ROOT) -> str:
    """The kind of container the system under ``root`` runs in (Linux), or ``none``.

    Checks, cheapest and surest first: the marker files podman and docker create, what systemd was told
    by the container manager (/run/systemd/container, PID 1's ``container=`` variable, often unreadable
    without privileges), container names in PID 1's cgroup, WSL's kernel name, OpenVZ's /proc/vz.
    """
    if (root / "run/.containerenv").exists():
        return "podman"
    if (root / ".dockerenv").exists():
        return "docker"
    told = (_read(root / "run/systemd/container") or "").strip()
    if told:
        return told
    try:
        environ = (root / "proc/1/environ").read_bytes()
    except OSError:
        environ = b""
    for item in environ.split(b"\0"):
        if item.startswith(b"container=") and len(item) > len(b"container="):
            return item[len(b"container=") :].decode("utf-8", "replace")
    cgroup = _read(root / "proc/1/cgroup") or ""
    for line in cgroup.splitlines():
        path = line.split(":", 2)[-1]
        for marker, kind in _CGROUP_MARKERS:
            if marker in path:
                return kind
    osrelease = (_read(root / "proc/sys/kernel/osrelease") or "").lower()
    if "microsoft" in osrelease or "wsl" in osrelease:
        return "wsl"
    if (root / "proc/vz").exists() and not (root / "proc/bc").exists():
        return "openvz"
    return "none"


def vm_from_dmi(product_name: str, sys_vendor: str, board_vendor: str = "", bios_vendor: str = "") -> str | None:
    """The hypervisor that firmware strings name, or None when they name none (real hardware or unknown)."""
    if sys_vendor.strip() == "Microsoft Corporation" and "Virtual Machine" in product_name:
        return "microsoft"  # Surface laptops share the vendor; only Hyper-V guests say Virtual Machine
    for text in (product_name, sys_vendor, board_vendor, bios_vendor):
        for needle, kind in _DMI_VENDORS:
            if text.strip().startswith(needle):
                return kind
    return None


#: Paravirtual clock sources a hypervisor offers its guests (VMs without DMI tables, e.g. Firecracker).
_CLOCKSOURCES = (("kvm-clock", "kvm"), ("hyperv_clocksource", "microsoft"), ("xen", "xen"))


def vm_from_clocksources(available: str | None) -> str | None:
    """The hypervisor whose paravirtual clock the kernel offers (from available_clocksource), or None."""
    for token in (available or "").split():
        for prefix, kind in _CLOCKSOURCES:
            if token.startswith(prefix):
                return kind
    return None


def detect_vm(root: Path = ROOT) -> str:
    """The hypervisor the Linux system under ``root`` runs on: a kind, ``vm`` (kind unknown), ``none``, ``unknown``.

    Firmware (DMI) strings, /sys/hypervisor and the paravirtual clock sources name the kind; the CPU's
    ``hypervisor`` flag in /proc/cpuinfo only says there is one.
    """
    hv_type = (_read(root / "sys/hypervisor/type") or "").strip()
    if hv_type:
        return hv_type
    dmi = root / "sys/class/dmi/id"
    strings = [(_read(dmi / n) or "").strip() for n in ("product_name", "sys_vendor", "board_vendor", "bios_vendor")]
    kind = vm_from_dmi(*strings)
    clock = vm_from_clocksources(_read(root / "sys/devices/system/clocksource/clocksource0/available_clocksource"))
    if kind == "qemu" and clock == "kvm":
        return "kvm"  # QEMU accelerated by KVM, as systemd-detect-virt calls it
    if kind or clock:
        return kind or clock or "vm"
    flags = _cpu_flags(root)
    if flags is None:
        return "unknown"
    if "hypervisor" in flags:
        return "vm"
    return "none"


def _cpu_flags(root: Path) -> set[str] | None:
    """The first processor's flags from /proc/cpuinfo (x86), set() on CPUs that list none, None if unreadable."""
    try:
        with open(root / "proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                if key.strip() in ("flags", "Features"):
                    return set(value.split())
    except OSError:
        return None
    return set()


def _windows_vm() -> str:
    try:
        import winreg  # type: ignore[import-not-found,unused-ignore]

        key = winreg.OpenKey(  # type: ignore[attr-defined,unused-ignore]
            winreg.HKEY_LOCAL_MACHINE,  # type: ignore[attr-defined,unused-ignore]
            r"HARDWARE\DESCRIPTION\System\BIOS",
        )
        product = str(winreg.QueryValueEx(key, "SystemProductName")[0])  # type: ignore[attr-defined,unused-ignore]
        vendor = str(winreg.QueryValueEx(key, "SystemManufacturer")[0])  # type: ignore[attr-defined,unused-ignore]
    except OSError:
        return "unknown"
    return vm_from_dmi(product, vendor) or "none"


# -- clock sync ---------------------------------------------------------------------------------------


def ntp_synchronized(ctx: ProbeContext, root: Path = ROOT) -> bool | None:
    """Whether NTP keeps the Linux clock in sync, if that is cheap to learn; None when unknown."""
    if (root / "run/systemd/timesync/synchronized").exists():
        return True
    if not (root / "run/systemd/system").is_dir() or ctx.which("timedatectl") is None:
        return None  # no systemd as init: nothing cheap to ask
    try:
        out = ctx.run(["timedatectl", "show", "-p", "NTPSynchronized", "--value"], timeout=TIMEDATECTL_TIMEOUT)
    except ProbeError:
        return None
    answer = out.stdout.strip().lower()
    return {"yes": True, "no": False}.get(answer) if out.returncode == 0 else None


# -- pending restart ----------------------------------------------------------------------------------


def pending_reboot_linux(
    root: Path = ROOT, kernel_release: str = "", in_container: bool = False
) -> tuple[bool | None, tuple[str, ...], tuple[str, ...]]:
    """(pending, reasons, packages) for the Linux system under ``root``.

    Debian and Ubuntu flag a needed restart with /var/run/reboot-required (and list the packages in
    reboot-required.pkgs). Everywhere, a running kernel whose modules directory an upgrade removed also needs
    one (checked only outside containers, whose /lib/modules has nothing to do with the running kernel).
    """
    reasons: list[str] = []
    packages: list[str] = []
    checked = (root / "etc/debian_version").exists()
    flag = root / "var/run/reboot-required"
    if flag.exists():
        checked = True
        reasons.append("a software update asked for a restart")
        for name in (_read(flag.with_name("reboot-required.pkgs")) or "").split():
            if name not in packages and len(packages) < MAX_REBOOT_PACKAGES:
                packages.append(name)
    if kernel_release and not in_container:
        for rel in ("lib/modules", "usr/lib/modules"):
            try:
                installed = os.listdir(root / rel)
            except OSError:
                continue
            if installed:
                checked = True
                if kernel_release not in installed:
                    reasons.append(f"the running kernel {kernel_release} is no longer installed (upgraded)")
                break
    if reasons:
        return True, tuple(reasons), tuple(packages)
    return (False if checked else None), (), ()


def _pending_reboot_windows() -> tuple[bool | None, tuple[str, ...], tuple[str, ...]]:
    try:
        import winreg  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None, (), ()
    reasons = []
    for path, reason in _WIN_REBOOT_KEYS:
        try:
            winreg.CloseKey(winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, path))  # type: ignore[attr-defined,unused-ignore]
        except OSError:
            continue
        reasons.append(reason)
    return bool(reasons), tuple(reasons), ()


# -- the probe ----------------------------------------------------------------------------------------


def collect(ctx: ProbeContext) -> SystemResult:
    root = ROOT  # read at call time, so a test can point the probe at a fake tree
    if ctx.platform == LINUX:
        os_name, os_version, distribution_id, edition = _linux_os(root)
    elif ctx.platform == WINDOWS:
        os_name, os_version, distribution_id, edition = _windows_os()
    elif ctx.platform == MACOS:
        os_name, os_version, distribution_id, edition = _macos_os()
    else:
        raise Unsupported(f"the system probe is not supported on {ctx.platform}")

    kernel = platform.version() if ctx.platform == WINDOWS else platform.release()
    hostname = socket.gethostname()
    try:
        boot = psutil.boot_time()
    except (OSError, RuntimeError) as exc:
        raise ProbeError(f"system: cannot read the boot time: {exc}") from exc

    if ctx.platform == LINUX:
        container, vm = detect_container(root), detect_vm(root)
        ntp = ntp_synchronized(ctx, root)
        reboot = pending_reboot_linux(root, kernel, in_container=container != "none")
    elif ctx.platform == WINDOWS:
        container, vm, ntp = "none", _windows_vm(), None
        reboot = _pending_reboot_windows()
    else:
        container, vm, ntp, reboot = "unknown", "unknown", None, (None, (), ())

    return SystemResult(
        os_family=ctx.platform,
        os_name=os_name,
        os_version=os_version,
        distribution_id=distribution_id,
        edition=edition,
        kernel_release=kernel,
        architecture=platform.machine(),
        hostname=hostname,
        fqdn=_fqdn(ctx, hostname, root),
        boot_time=_iso(boot),
        uptime_seconds=_uptime(ctx, root, boot),
        timezone=_windows_timezone() if ctx.platform == WINDOWS else timezone_name(root, ctx.environ),
        utc_offset_minutes=_utc_offset_minutes(),
        lang=ctx.environ.get("LANG", ""),
        lc_all=ctx.environ.get("LC_ALL", ""),
        locale=_locale_name(ctx),
        encoding=locale.getpreferredencoding(False),
        virtualization=container if container not in ("none", "unknown") else vm,
        container=container,
        vm=vm,
        ntp_synchronized=ntp,
        pending_reboot=reboot[0],
        reboot_reasons=reboot[1],
        reboot_packages=reboot[2],
        python_version=platform.python_version(),
        collected_at=_iso(time.time(), "milliseconds"),
    )
