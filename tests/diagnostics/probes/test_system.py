"""The system probe: os-release, hosts, time zone, virtualisation and restart parsing on fake trees, and the
real values of this machine cross-checked with psutil, the socket module and systemd-detect-virt."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import locale
import os
import platform
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from desktop.diagnostics.base import CommandResult, ProbeContext, ProbeError, Unsupported, describe, to_jsonable
from desktop.diagnostics.probes import system

FIXTURES = Path(__file__).parents[2] / "fixtures" / "system"
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads Linux files")


def write(root: Path, rel: str, text: str | bytes = "") -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


# -- os-release ------------------------------------------------------------------------------------


def test_os_release_ubuntu() -> None:
    info = system.parse_os_release((FIXTURES / "os-release-ubuntu-24.04").read_text())
    assert info["PRETTY_NAME"] == "Ubuntu 24.04.3 LTS"
    assert info["ID"] == "ubuntu"
    assert info["VERSION_ID"] == "24.04"
    assert info["ID_LIKE"] == "debian"
    assert info["UBUNTU_CODENAME"] == "noble"
    assert len(info) == 13


def test_os_release_fedora_has_empty_quoted_value() -> None:
    info = system.parse_os_release((FIXTURES / "os-release-fedora-42").read_text())
    assert info["PRETTY_NAME"] == "Fedora Linux 42 (Forty Two)"
    assert info["VERSION_ID"] == "42"
    assert info["VERSION_CODENAME"] == ""
    assert info["CPE_NAME"] == "cpe:/o:fedoraproject:fedora:42"


def test_os_release_quoting_rules() -> None:
    info = system.parse_os_release((FIXTURES / "os-release-edge-cases").read_text())
    assert info["NAME"] == "Example OS"
    assert info["PRETTY_NAME"] == 'Example "Desk" OS 7 \\ $HOME `x`'
    assert info["ID_LIKE"] == "rhel fedora"
    assert info["EMPTY"] == ""
    assert info["VARIANT_ID"] == "workstation"
    assert "BROKEN-KEY" not in info
    assert not any(k.startswith("#") or " " in k for k in info)


def test_linux_os_of_a_rolling_release_has_no_version(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "os-release-arch", write(tmp_path, "etc/os-release"))
    assert system._linux_os(tmp_path) == ("Arch Linux", "", "arch", "")


def test_os_release_falls_back_to_usr_lib(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "os-release-fedora-42", write(tmp_path, "usr/lib/os-release"))
    assert system._linux_os(tmp_path) == ("Fedora Linux 42 (Forty Two)", "42", "fedora", "")


def test_no_os_release_at_all(tmp_path: Path) -> None:
    assert system.read_os_release(tmp_path) == {}
    assert system._linux_os(tmp_path) == ("Linux", "", "linux", "")


@linux_only
def test_real_os_release_parses_as_python_does() -> None:
    ours = system.read_os_release(Path("/"))
    if not ours:
        pytest.skip("this system has no os-release")
    theirs = platform.freedesktop_os_release()
    # Python adds NAME/ID/PRETTY_NAME defaults when a file lacks them; every key the file has must agree
    assert {k: theirs[k] for k in ours} == ours
    assert set(theirs) - set(ours) <= {"NAME", "ID", "PRETTY_NAME"}


# -- host names ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hosts", "expected"),
    [
        ("127.0.0.1 localhost\n127.0.1.1 pc7.corp.example pc7\n", "pc7.corp.example"),
        ("127.0.1.1 pc7 pc7.corp.example  # alias second\n", "pc7.corp.example"),
        ("10.1.2.3 PC7.Corp.Example\n", "PC7.Corp.Example"),
        ("127.0.0.1 localhost\n127.0.0.1 pc7\n", None),
        ("# 127.0.1.1 pc7.corp.example pc7\n", None),
        ("127.0.1.1 pc70.corp.example pc70\n", None),
        ("127.0.1.1 pc7.corp.example. pc7\n", None),  # a trailing dot is not a name we report
    ],
)
def test_fqdn_from_hosts(hosts: str, expected: str | None) -> None:
    assert system.fqdn_from_hosts("pc7", hosts) == expected


# -- time zone -------------------------------------------------------------------------------------


def test_timezone_from_localtime_link(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    os.symlink("../usr/share/zoneinfo/Europe/Berlin", tmp_path / "etc/localtime")
    write(tmp_path, "etc/timezone", "Asia/Tokyo\n")  # the link wins: it is what libc reads
    assert system.timezone_name(tmp_path, {}) == "Europe/Berlin"


def test_timezone_link_with_posix_prefix(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    os.symlink("/usr/share/zoneinfo/posix/America/Sao_Paulo", tmp_path / "etc/localtime")
    assert system.timezone_name(tmp_path, {}) == "America/Sao_Paulo"


def test_timezone_from_etc_timezone_when_localtime_is_a_copy(tmp_path: Path) -> None:
    write(tmp_path, "etc/localtime", b"TZif2...")
    write(tmp_path, "etc/timezone", "Europe/Moscow\n")
    assert system.timezone_name(tmp_path, {}) == "Europe/Moscow"


def test_timezone_variable_wins(tmp_path: Path) -> None:
    write(tmp_path, "etc/timezone", "Europe/Moscow\n")
    assert system.timezone_name(tmp_path, {"TZ": ":America/New_York"}) == "America/New_York"
    assert system.timezone_name(tmp_path, {"TZ": "/usr/share/zoneinfo/Asia/Tokyo"}) == "Asia/Tokyo"


def test_timezone_falls_back_to_the_abbreviation(tmp_path: Path) -> None:
    assert system.timezone_name(tmp_path, {}) in time.tzname


# -- virtualisation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({".dockerenv": ""}, "docker"),
        ({"run/.containerenv": "engine=podman"}, "podman"),
        ({"run/systemd/container": "lxc\n"}, "lxc"),
        ({"proc/1/environ": b"PATH=/bin\0container=systemd-nspawn\0TERM=vt220\0"}, "systemd-nspawn"),
        ({"proc/1/cgroup": "12:pids:/docker/4f3c2a\n0::/docker/4f3c2a\n"}, "docker"),
        ({"proc/1/cgroup": "0::/kubepods/burstable/pod1234/abcd\n"}, "kubernetes"),
        ({"proc/sys/kernel/osrelease": "5.15.153.1-microsoft-standard-WSL2\n"}, "wsl"),
        ({"proc/vz/veinfo": ""}, "openvz"),
        ({"proc/1/cgroup": "0::/init.scope\n", "proc/sys/kernel/osrelease": "6.1.0-18-amd64\n"}, "none"),
    ],
)
def test_detect_container(tmp_path: Path, files: dict[str, str | bytes], expected: str) -> None:
    for rel, text in files.items():
        write(tmp_path, rel, text)
    assert system.detect_container(tmp_path) == expected


CPUINFO_HOST = "processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu vme de pse tsc msr pae mce sse sse2 ht\n"
CPUINFO_GUEST = "processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu vme de pse tsc msr sse2 hypervisor\n"


@pytest.mark.parametrize(
    ("dmi", "cpuinfo", "clocks", "expected"),
    [
        (("Standard PC (Q35 + ICH9, 2009)", "QEMU"), CPUINFO_GUEST, "tsc kvm-clock acpi_pm", "kvm"),
        (("Standard PC (Q35 + ICH9, 2009)", "QEMU"), CPUINFO_GUEST, "tsc acpi_pm", "qemu"),
        (("KVM", "Red Hat"), CPUINFO_GUEST, "", "kvm"),
        (("VMware Virtual Platform", "VMware, Inc."), CPUINFO_GUEST, "tsc hpet acpi_pm", "vmware"),
        (("VirtualBox", "innotek GmbH"), CPUINFO_GUEST, "", "oracle"),
        (("Virtual Machine", "Microsoft Corporation"), CPUINFO_GUEST, "", "microsoft"),
        (("Surface Laptop 4", "Microsoft Corporation"), CPUINFO_HOST, "tsc hpet acpi_pm", "none"),
        (("20XW0055GE", "LENOVO"), CPUINFO_HOST, "tsc hpet acpi_pm", "none"),
        (("", ""), CPUINFO_GUEST, "tsc kvm-clock", "kvm"),  # Firecracker: no DMI tables at all
        (("", ""), CPUINFO_GUEST, "tsc", "vm"),
        (("", ""), None, "", "unknown"),
    ],
)
def test_detect_vm(
    tmp_path: Path, dmi: tuple[str, str], cpuinfo: str | None, clocks: str, expected: str
) -> None:
    product, vendor = dmi
    if product:
        write(tmp_path, "sys/class/dmi/id/product_name", product + "\n")
        write(tmp_path, "sys/class/dmi/id/sys_vendor", vendor + "\n")
    if cpuinfo is not None:
        write(tmp_path, "proc/cpuinfo", cpuinfo)
    if clocks:
        write(tmp_path, "sys/devices/system/clocksource/clocksource0/available_clocksource", clocks + " \n")
    assert system.detect_vm(tmp_path) == expected


def test_xen_says_so_in_sys_hypervisor(tmp_path: Path) -> None:
    write(tmp_path, "sys/hypervisor/type", "xen\n")
    assert system.detect_vm(tmp_path) == "xen"


def _systemd_detect_virt(flag: str) -> str:
    exe = shutil.which("systemd-detect-virt")
    if exe is None:
        pytest.skip("systemd-detect-virt is not installed")
    return subprocess.run([exe, flag], capture_output=True, text=True, check=False, timeout=10).stdout.strip()


@linux_only
def test_real_container_agrees_with_systemd_detect_virt() -> None:
    theirs = _systemd_detect_virt("--container")
    if theirs not in ("none", "docker", "podman", "lxc", "systemd-nspawn", "wsl", "openvz"):
        pytest.skip(f"systemd-detect-virt says {theirs!r}, a kind this probe does not name")
    assert system.detect_container(Path("/")) == theirs


@linux_only
def test_real_vm_agrees_with_systemd_detect_virt() -> None:
    theirs = _systemd_detect_virt("--vm")
    ours = system.detect_vm(Path("/"))
    if theirs == "none":
        assert ours == "none"
    else:
        assert ours in (theirs, "vm")  # 'vm': a hypervisor whose kind only CPUID would tell


# -- clock sync ------------------------------------------------------------------------------------


class FakeTimedatectl(ProbeContext):
    """A context whose timedatectl answers ``answer`` (or fails), recording whether it was asked."""

    def __init__(self, answer: str | None) -> None:
        super().__init__(platform="linux")
        self.answer = answer
        self.calls: list[list[str]] = []

    def which(self, program: str) -> str | None:
        return f"/usr/bin/{program}"

    def run(self, argv: object, timeout: float = 5.0, check: bool = False) -> CommandResult:
        self.calls.append(list(argv))  # type: ignore[call-overload]
        assert timeout <= 1.0
        if self.answer is None:
            raise ProbeError("timedatectl: no answer within 1 s")
        return CommandResult(tuple(argv), 0, self.answer + "\n", "")  # type: ignore[arg-type]


def test_ntp_flag_file_means_synchronised_without_asking(tmp_path: Path) -> None:
    write(tmp_path, "run/systemd/timesync/synchronized")
    (tmp_path / "run/systemd/system").mkdir()
    ctx = FakeTimedatectl("no")
    assert system.ntp_synchronized(ctx, tmp_path) is True
    assert ctx.calls == []


def test_ntp_unknown_without_systemd(tmp_path: Path) -> None:
    ctx = FakeTimedatectl("no")
    assert system.ntp_synchronized(ctx, tmp_path) is None
    assert ctx.calls == []  # no systemd running: timedatectl is never started


@pytest.mark.parametrize(("answer", "expected"), [("yes", True), ("no", False), ("", None), (None, None)])
def test_ntp_from_timedatectl(tmp_path: Path, answer: str | None, expected: bool | None) -> None:
    (tmp_path / "run/systemd/system").mkdir(parents=True)
    ctx = FakeTimedatectl(answer)
    assert system.ntp_synchronized(ctx, tmp_path) is expected
    assert ctx.calls == [["timedatectl", "show", "-p", "NTPSynchronized", "--value"]]


# -- pending restart -------------------------------------------------------------------------------


def test_reboot_required_with_packages(tmp_path: Path) -> None:
    write(tmp_path, "etc/debian_version", "12.5\n")
    write(tmp_path, "var/run/reboot-required", "*** System restart required ***\n")
    write(tmp_path, "var/run/reboot-required.pkgs", "linux-image-6.1.0-18-amd64\nlibc6\nlibc6\nsystemd\n")
    pending, reasons, packages = system.pending_reboot_linux(tmp_path, "6.1.0-17-amd64")
    assert pending is True
    assert reasons == ("a software update asked for a restart",)
    assert packages == ("linux-image-6.1.0-18-amd64", "libc6", "systemd")


def test_reboot_packages_are_capped(tmp_path: Path) -> None:
    write(tmp_path, "var/run/reboot-required")
    write(tmp_path, "var/run/reboot-required.pkgs", "\n".join(f"pkg{i}" for i in range(200)))
    _, _, packages = system.pending_reboot_linux(tmp_path)
    assert len(packages) == system.MAX_REBOOT_PACKAGES
    assert packages[0] == "pkg0"


def test_no_restart_flag_on_debian_is_false(tmp_path: Path) -> None:
    write(tmp_path, "etc/debian_version", "12.5\n")
    assert system.pending_reboot_linux(tmp_path, "6.1.0-18-amd64") == (False, (), ())


def test_no_known_mechanism_is_unknown(tmp_path: Path) -> None:
    assert system.pending_reboot_linux(tmp_path, "6.1.0-18-amd64") == (None, (), ())


def test_running_kernel_removed_by_an_upgrade(tmp_path: Path) -> None:
    (tmp_path / "usr/lib/modules/6.7.4-arch1-1").mkdir(parents=True)
    pending, reasons, _ = system.pending_reboot_linux(tmp_path, "6.7.2-arch1-1")
    assert pending is True
    assert reasons == ("the running kernel 6.7.2-arch1-1 is no longer installed (upgraded)",)
    # the running kernel still installed: nothing pending, and the check counts as done
    (tmp_path / "usr/lib/modules/6.7.2-arch1-1").mkdir()
    assert system.pending_reboot_linux(tmp_path, "6.7.2-arch1-1") == (False, (), ())


def test_kernel_check_is_skipped_in_containers(tmp_path: Path) -> None:
    (tmp_path / "lib/modules/5.10.0-28-amd64").mkdir(parents=True)
    assert system.pending_reboot_linux(tmp_path, "6.18.0", in_container=True) == (None, (), ())


def test_collect_on_a_fake_root_reports_the_pending_restart(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "os-release-ubuntu-24.04", write(tmp_path, "etc/os-release"))
    write(tmp_path, "var/run/reboot-required", "*** System restart required ***\n")
    write(tmp_path, "var/run/reboot-required.pkgs", "linux-image-6.8.0-45-generic\n")
    write(tmp_path, "proc/uptime", "3724.50 7100.20\n")
    write(tmp_path, ".dockerenv")
    monkeypatch.setattr(system, "ROOT", tmp_path)
    r = system.collect(ProbeContext(platform="linux", environ={"TZ": "Europe/Paris", "LANG": "fr_FR.UTF-8"}))
    assert (r.os_name, r.os_version, r.distribution_id) == ("Ubuntu 24.04.3 LTS", "24.04", "ubuntu")
    assert r.pending_reboot is True
    assert r.reboot_packages == ("linux-image-6.8.0-45-generic",)
    assert r.uptime_seconds == 3724.5
    assert (r.virtualization, r.container) == ("docker", "docker")
    assert (r.timezone, r.lang, r.lc_all) == ("Europe/Paris", "fr_FR.UTF-8", "")
    assert r.ntp_synchronized is None


def test_other_platforms_are_unsupported() -> None:
    with pytest.raises(Unsupported, match="sunos"):
        system.collect(ProbeContext(platform="sunos"))


# -- this machine ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real() -> system.SystemResult:
    return system.collect(ProbeContext())


def test_real_identity(real: system.SystemResult) -> None:
    assert isinstance(real, system.SystemResult)
    assert real.hostname == socket.gethostname()
    assert real.architecture == platform.machine()
    assert real.python_version == platform.python_version()
    assert real.os_family == ProbeContext().platform
    if real.fqdn is not None:
        assert real.fqdn.lower().startswith(real.hostname.split(".")[0].lower())
    if sys.platform.startswith("linux"):
        assert real.kernel_release == os.uname().release
        info = platform.freedesktop_os_release()
        assert real.os_name == info["PRETTY_NAME"]
        assert real.os_version == info.get("VERSION_ID", "")
        assert real.distribution_id == info["ID"]
        hosts = Path("/etc/hosts").read_text() if Path("/etc/hosts").exists() else ""
        expected = real.hostname if "." in real.hostname else system.fqdn_from_hosts(real.hostname, hosts)
        assert real.fqdn == expected


def test_real_boot_time_and_uptime(real: system.SystemResult) -> None:
    boot = dt.datetime.fromisoformat(real.boot_time)
    assert boot.utcoffset() == dt.timedelta(0)
    assert abs(boot.timestamp() - psutil.boot_time()) <= 1
    # /proc/uptime runs on the monotonic clock, boot_time on the wall clock: they agree unless it was set
    assert abs(real.uptime_seconds - (time.time() - psutil.boot_time())) < 30
    assert real.uptime_seconds > 0


def test_real_clock_time_zone_and_locale(real: system.SystemResult) -> None:
    now = dt.datetime.fromisoformat(real.collected_at)
    assert abs((dt.datetime.now(dt.UTC) - now).total_seconds()) < 60
    assert real.utc_offset_minutes == time.localtime().tm_gmtoff // 60
    localtime = Path("/etc/localtime")
    if sys.platform.startswith("linux") and "TZ" not in os.environ and localtime.is_symlink():
        assert real.timezone == os.readlink(localtime).split("zoneinfo/", 1)[1]
    assert real.locale == locale.setlocale(locale.LC_CTYPE)
    assert real.lang == os.environ.get("LANG", "")
    assert real.encoding == locale.getpreferredencoding(False)


@linux_only
def test_real_virtualisation_and_restart(real: system.SystemResult) -> None:
    assert real.container == system.detect_container(Path("/"))
    assert real.vm == system.detect_vm(Path("/"))
    if Path("/.dockerenv").exists():
        assert real.virtualization == "docker"
    has_flag = Path("/var/run/reboot-required").exists()
    assert (real.pending_reboot is True) == (has_flag or bool(real.reboot_reasons))
    if not Path("/run/systemd/system").is_dir() and not Path("/run/systemd/timesync/synchronized").exists():
        assert real.ntp_synchronized is None


def test_every_field_is_documented_and_the_result_is_small(real: system.SystemResult) -> None:
    for row in describe(system.SystemResult):
        assert row.doc, row.name
    data = json.dumps(to_jsonable(real))
    assert len(data) < 4096
    assert json.loads(data)["hostname"] == real.hostname
    assert dataclasses.is_dataclass(real)


def test_fast_enough() -> None:
    ctx = ProbeContext()
    best = min(_timed(ctx) for _ in range(3))
    assert best < 0.05, f"system probe took {best * 1000:.1f} ms"


def _timed(ctx: ProbeContext) -> float:
    start = time.perf_counter()
    system.collect(ctx)
    return time.perf_counter() - start
