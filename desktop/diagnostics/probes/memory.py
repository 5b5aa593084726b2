"""Memory: RAM and swap use, swap traffic, memory pressure (Linux PSI) and commit charge.

On Linux everything comes from three small files read once each: ``/proc/meminfo``, ``/proc/vmstat``
and ``/proc/pressure/memory``; that is one consistent snapshot and takes well under a millisecond.
Elsewhere psutil gives the portable part (RAM, swap, swap traffic) and the Linux-only fields are None.

Which programs use the memory is the processes probe's job; this probe only adds the cheap kernel-side
hints that explain memory no process seems to hold (page cache, shared memory, kernel slab, huge
pages) and how often the kernel had to kill a program for lack of memory.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import psutil

from desktop.diagnostics.base import LINUX, MACOS, WINDOWS, ProbeContext, ProbeError, Unsupported, field

NAME = "memory"
TITLE = "Memory"

PROC = Path("/proc")


@dataclass(frozen=True)
class MemoryResult:
    total_bytes: int = field(unit="bytes", doc="Physical memory (RAM) the operating system can use")
    available_bytes: int = field(
        unit="bytes",
        doc="RAM that programs can get without the system swapping: free memory plus cache it can drop "
        "(Linux MemAvailable)",
    )
    used_bytes: int = field(unit="bytes", doc="RAM in use and not readily reclaimable: total minus available")
    used_percent: float = field(unit="%", doc="used_bytes as a share of total_bytes")
    swap_total_bytes: int = field(unit="bytes", doc="Swap space configured (0 when there is none)")
    swap_used_bytes: int = field(unit="bytes", doc="Swap space in use")
    swap_used_percent: float | None = field(
        unit="%", doc="swap_used_bytes as a share of swap_total_bytes (None when there is no swap)"
    )
    swap_in_bytes: int | None = field(
        unit="bytes", doc="Bytes read back in from swap since boot (None where the platform does not count it)"
    )
    swap_out_bytes: int | None = field(
        unit="bytes", doc="Bytes written out to swap since boot (None where the platform does not count it)"
    )
    psi_some_avg10: float | None = field(
        unit="%",
        doc="Linux pressure stall information: share of the last 10 s in which at least one task waited for "
        "memory (None when /proc/pressure/memory is absent, e.g. kernels before 4.20 or PSI disabled)",
    )
    psi_some_avg60: float | None = field(unit="%", doc="As psi_some_avg10, over the last 60 s")
    psi_some_avg300: float | None = field(unit="%", doc="As psi_some_avg10, over the last 300 s")
    psi_full_avg10: float | None = field(
        unit="%", doc="Share of the last 10 s in which ALL non-idle tasks waited for memory at once (None: no PSI)"
    )
    psi_full_avg60: float | None = field(unit="%", doc="As psi_full_avg10, over the last 60 s")
    psi_full_avg300: float | None = field(unit="%", doc="As psi_full_avg10, over the last 300 s")
    committed_bytes: int | None = field(
        unit="bytes",
        doc="Memory all programs have asked for and may touch (Linux Committed_AS); can exceed RAM + swap "
        "under overcommit (None off Linux)",
    )
    commit_limit_bytes: int | None = field(
        unit="bytes",
        doc="Linux CommitLimit: swap plus RAM times the overcommit ratio; only enforced in strict overcommit "
        "mode (None off Linux)",
    )
    commit_percent: float | None = field(unit="%", doc="committed_bytes as a share of commit_limit_bytes")
    cached_bytes: int | None = field(
        unit="bytes",
        doc="File cache, buffers and reclaimable slab: counted as used by some tools, but mostly reclaimable "
        "(None: unknown)",
    )
    shared_bytes: int | None = field(
        unit="bytes",
        doc="Shared memory and tmpfs (/dev/shm, /tmp on tmpfs): held in RAM until the files are deleted "
        "(Linux Shmem; None off Linux)",
    )
    kernel_unreclaimable_bytes: int | None = field(
        unit="bytes", doc="Kernel slab memory that cannot be reclaimed (Linux SUnreclaim); grows with driver leaks"
    )
    hugepages_bytes: int | None = field(
        unit="bytes", doc="RAM reserved for huge pages (Linux HugePages_Total x Hugepagesize): not usable otherwise"
    )
    oom_kills: int | None = field(
        unit="processes",
        doc="Programs the Linux kernel killed for lack of memory since boot (/proc/vmstat oom_kill, kernel 4.13+; "
        "None when not counted)",
    )


RESULT = MemoryResult


def parse_meminfo(text: str) -> dict[str, int]:
    """``/proc/meminfo`` as a mapping of field name to bytes (``kB`` values scaled; counts kept as they are)."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        key, sep, rest = line.partition(":")
        parts = rest.split()
        if not sep or not parts:
            continue
        try:
            value = int(parts[0])
        except ValueError:
            continue
        out[key.strip()] = value * 1024 if len(parts) > 1 and parts[1] == "kB" else value
    return out


def parse_vmstat(text: str) -> dict[str, int]:
    """``/proc/vmstat``: counter name to value."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2:
            try:
                out[parts[0]] = int(parts[1])
            except ValueError:
                continue
    return out


def parse_psi(text: str) -> dict[str, dict[str, float]]:
    """A ``/proc/pressure/*`` file: ``{"some": {"avg10": ..., "avg60": ..., "avg300": ...}, "full": {...}}``.

    ``total`` (cumulative microseconds) is left out; the averages are percentages.
    """
    out: dict[str, dict[str, float]] = {}
    for line in text.splitlines():
        kind, *pairs = line.split()
        values: dict[str, float] = {}
        for pair in pairs:
            key, _, value = pair.partition("=")
            if key.startswith("avg"):
                try:
                    values[key] = float(value)
                except ValueError:
                    continue
        if kind in ("some", "full"):
            out[kind] = values
    return out


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="ascii", errors="replace")
    except OSError:  # absent (old kernel, PSI off: EOPNOTSUPP) or unreadable
        return None


def _percent(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole > 0 else None


def from_linux(meminfo: Mapping[str, int], vmstat: Mapping[str, int], psi: Mapping[str, Mapping[str, float]],
               page_size: int) -> MemoryResult:
    """Build the result from parsed Linux files (``page_size`` converts vmstat's page counts to bytes)."""
    try:
        total = meminfo["MemTotal"]
        free = meminfo["MemFree"]
    except KeyError as exc:
        raise ProbeError(f"/proc/meminfo: no {exc.args[0]} line") from exc
    cached = meminfo.get("Cached", 0) + meminfo.get("Buffers", 0)
    # MemAvailable exists since Linux 3.14; before it free + cache is the usual estimate
    available = meminfo.get("MemAvailable", free + cached + meminfo.get("SReclaimable", 0))
    available = min(available, total)
    swap_total = meminfo.get("SwapTotal", 0)
    swap_used = max(0, swap_total - meminfo.get("SwapFree", 0))
    committed = meminfo.get("Committed_AS")
    limit = meminfo.get("CommitLimit")
    huge = meminfo.get("HugePages_Total")
    huge_size = meminfo.get("Hugepagesize")
    some = psi.get("some", {})
    full = psi.get("full", {})
    return MemoryResult(
        total_bytes=total,
        available_bytes=available,
        used_bytes=total - available,
        used_percent=_percent(total - available, total) or 0.0,
        swap_total_bytes=swap_total,
        swap_used_bytes=swap_used,
        swap_used_percent=_percent(swap_used, swap_total),
        swap_in_bytes=vmstat["pswpin"] * page_size if "pswpin" in vmstat else None,
        swap_out_bytes=vmstat["pswpout"] * page_size if "pswpout" in vmstat else None,
        psi_some_avg10=some.get("avg10"),
        psi_some_avg60=some.get("avg60"),
        psi_some_avg300=some.get("avg300"),
        psi_full_avg10=full.get("avg10"),
        psi_full_avg60=full.get("avg60"),
        psi_full_avg300=full.get("avg300"),
        committed_bytes=committed,
        commit_limit_bytes=limit,
        commit_percent=_percent(committed, limit) if committed is not None and limit is not None else None,
        cached_bytes=cached + meminfo.get("SReclaimable", 0) if "Cached" in meminfo else None,
        shared_bytes=meminfo.get("Shmem"),
        kernel_unreclaimable_bytes=meminfo.get("SUnreclaim"),
        hugepages_bytes=huge * huge_size if huge is not None and huge_size is not None else None,
        oom_kills=vmstat.get("oom_kill"),
    )


def collect_linux(proc: Path = PROC) -> MemoryResult:
    """Read the Linux files under ``proc`` (a parameter so tests can point it at a recorded tree)."""
    meminfo_text = _read(proc / "meminfo")
    if meminfo_text is None:
        raise ProbeError(f"{proc / 'meminfo'}: cannot be read")
    vmstat = parse_vmstat(_read(proc / "vmstat") or "")
    psi = parse_psi(_read(proc / "pressure" / "memory") or "")
    return from_linux(parse_meminfo(meminfo_text), vmstat, psi, _page_size())


def _page_size() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 4096


def _collect_psutil(ctx: ProbeContext) -> MemoryResult:
    vm = psutil.virtual_memory()
    sw = psutil.swap_memory()
    # psutil documents sin/sout as always 0 on Windows: that is "not counted", not "no traffic"
    counted = ctx.platform != WINDOWS
    available = min(int(vm.available), int(vm.total))
    cached = getattr(vm, "cached", None)
    return MemoryResult(
        total_bytes=int(vm.total),
        available_bytes=available,
        used_bytes=int(vm.total) - available,
        used_percent=_percent(int(vm.total) - available, int(vm.total)) or 0.0,
        swap_total_bytes=int(sw.total),
        swap_used_bytes=int(sw.used),
        swap_used_percent=_percent(int(sw.used), int(sw.total)),
        swap_in_bytes=int(sw.sin) if counted else None,
        swap_out_bytes=int(sw.sout) if counted else None,
        psi_some_avg10=None,
        psi_some_avg60=None,
        psi_some_avg300=None,
        psi_full_avg10=None,
        psi_full_avg60=None,
        psi_full_avg300=None,
        committed_bytes=None,
        commit_limit_bytes=None,
        commit_percent=None,
        cached_bytes=int(cached) if cached is not None else None,
        shared_bytes=None,
        kernel_unreclaimable_bytes=None,
        hugepages_bytes=None,
        oom_kills=None,
    )


def collect(ctx: ProbeContext) -> MemoryResult:
    if ctx.platform == LINUX:
        return collect_linux()
    if ctx.platform in (WINDOWS, MACOS):
        return _collect_psutil(ctx)
    raise Unsupported(f"memory is not supported on {ctx.platform}")
